// Which compute backends this build of Ember has, whether a GPU is usable right now, and the
// process-wide CUDA math settings. Core itself knows no backend: the queries are answered by the
// device hooks that cuda/ registers (core/device_hooks.h).
#pragma once

#include <string>

#include "core/device.h"

namespace ember {

bool cuda_built();         // compiled with the CUDA backend
bool cuda_is_available();  // built with CUDA and at least one device visible (a broken driver throws)
// Why cuda_is_available() is false ("not built with CUDA", "no CUDA device", "no CUDA driver
// installed"), or "" when it is true.
std::string cuda_unavailable_reason();
std::string backend_info();  // one line for logs and reports, e.g. "cpu (2 threads), cuda: no device"
// Waits until `device` has finished the work queued on it (for timing); a no-op for the CPU, whose
// ops return when done, and in a build without CUDA.
void synchronize(Device device);

namespace cuda {
// Whether float32 matmuls on CUDA may use TF32 tensor cores (10-bit mantissa products, about 1e-3
// relative error, several times faster), as torch.backends.cuda.matmul.allow_tf32. Off by
// default, so float32 results match the CPU to float32 rounding. Process-wide; a no-op without CUDA.
void set_allow_tf32(bool allow);
bool allow_tf32();

// Sets allow_tf32 for a scope and restores the previous setting when the scope ends, also when it
// ends by an exception (a failing check cannot leave TF32 on for what runs next).
class AllowTf32Guard {
 public:
  explicit AllowTf32Guard(bool allow) : previous_(allow_tf32()) { set_allow_tf32(allow); }
  ~AllowTf32Guard() { set_allow_tf32(previous_); }
  AllowTf32Guard(const AllowTf32Guard&) = delete;
  AllowTf32Guard& operator=(const AllowTf32Guard&) = delete;

 private:
  bool previous_;
};

// Whether bfloat16 GEMMs on CUDA may reduce in reduced precision (cuBLAS split-K reductions in
// bfloat16), as torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction. Off by default:
// partial sums stay float32 (CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION). Process-wide.
void set_allow_bf16_reduced_precision_reduction(bool allow);
bool allow_bf16_reduced_precision_reduction();
}  // namespace cuda

}  // namespace ember
