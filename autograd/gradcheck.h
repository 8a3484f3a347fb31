// Public gradient checker: compares the analytical gradients Ember computes with central finite
// differences, in float64. Users call it on their own ops and models, as the test suite does.
//
//   auto result = autograd::gradcheck([](const std::vector<Tensor>& in) { return my_op(in[0], in[1]); },
//                                     {a, b});
//   if (!result.ok) fmt::print("{}\n", result.report);
//
// For every input element x_i that requires grad, the numerical column (f(x+eps e_i) - f(x-eps e_i))
// / 2eps of the Jacobian is compared with the analytical one, obtained from one backward pass per
// output element (vector-Jacobian products with one-hot vectors). A pair passes when
// |numerical - analytical| <= atol + rtol |numerical|. Besides the Jacobian, the check also
//   - runs one backward with a random, non-contiguous incoming gradient v and compares the result
//     with v^T J (a backward that assumes a contiguous or one-hot gradient fails here);
//   - requires that inputs which do not require grad receive no gradient;
//   - repeats everything with every input replaced by a strided copy of itself (same values, every
//     stride doubled), so a kernel that ignores strides fails (strided_inputs, on by default).
// The default tolerances suit float64: central differences with eps = 1e-6 are exact to about
// 1e-10 for values of order one, so atol = 1e-8 and rtol = 1e-6 leave two orders of margin.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ember::autograd {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-8;
  double rtol = 1e-6;
  bool strided_inputs = true;    // also check with strided copies of the inputs
  std::uint64_t seed = 0x5eed;   // of the random incoming gradient
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0;  // worst |numerical - analytical| over all Jacobian entries
  // Where the worst entry is: input index, element of that input, element of the output.
  std::int64_t worst_input = -1, worst_element = -1, worst_output = -1;
  double numerical = 0, analytical = 0;
  std::int64_t checked = 0;  // Jacobian and vector-Jacobian entries compared
  std::string report;        // readable summary, one line per failing input or check
};

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

// Inputs that require grad must be float64 (the check refuses float32: its rounding swamps the
// finite differences). Inputs are not modified.
GradcheckResult gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs,
                          GradcheckOptions options = {});

}  // namespace ember::autograd
