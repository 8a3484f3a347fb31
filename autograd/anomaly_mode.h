// Anomaly mode: find the op where a NaN or an infinity first appears.
//
//   autograd::DetectAnomalyGuard guard;   // or set_detect_anomaly(true)
//   Tensor loss = model(x);               // throws at the op whose output first turns non-finite
//   loss.backward();                      // throws at the node whose gradient first does
//
// When on, every op that records a backward node checks its output, and the backward engine
// checks the gradient passed to backward() and every gradient each node returns. The error names
// the op (its node name), the pass (forward or backward) and the shape, e.g.
//   anomaly detected in forward: log produced -inf (output of shape [2, 3]) from finite inputs
// Forward blames an op only for what it created: a NaN out of inputs without NaN, or an infinity
// out of all-finite inputs, so masks that hold -inf on purpose (masked_fill before softmax) pass
// through quietly. Every check copies the tensor to the CPU and scans it, so this is a debugging
// aid, several times slower; when off it costs one thread-local flag test per op. Like grad mode
// the switch is per thread.
#pragma once

#include <string_view>
#include <vector>

#include "core/tensor.h"

namespace ember::autograd {

void set_detect_anomaly(bool enabled);
bool is_detect_anomaly_enabled();

// Turns anomaly mode on (or off) for its scope and restores the previous setting on exit.
class DetectAnomalyGuard {
 public:
  explicit DetectAnomalyGuard(bool enabled = true) : previous_(is_detect_anomaly_enabled()) {
    set_detect_anomaly(enabled);
  }
  ~DetectAnomalyGuard() { set_detect_anomaly(previous_); }
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool previous_;
};

// Used by record() and the engine while anomaly mode is on. Throw ember::Error as described above.
void check_forward_anomaly(std::string_view op, const Tensor& output, const std::vector<Tensor>& inputs);
void check_backward_anomaly(std::string_view op, const std::vector<Tensor>& input_grads);
void check_backward_seed(const std::vector<Tensor>& grad_outputs);

}  // namespace ember::autograd
