// Anomaly mode's per-thread switch and its NaN/Inf scans (see anomaly_mode.h).
#include "autograd/anomaly_mode.h"

#include <cmath>

#include "core/error.h"

namespace ember::autograd {

namespace {

thread_local bool anomaly_enabled = false;

// What non-finite values a tensor holds; the first of each kind is enough to report.
struct NonFinite {
  bool nan = false;
  bool inf = false;
  double inf_value = 0;  // the first infinity, to tell +inf from -inf in the message
};

NonFinite scan(const Tensor& t) {
  if (!t.defined() || !(is_floating(t.dtype()) || is_reduced_float(t.dtype())) || t.numel() == 0) return {};
  Tensor host = t.detach().to(kCPU).contiguous();
  if (host.dtype() == kBFloat16) host = host.to(kFloat32);  // exact, keeps NaN and inf
  return dispatch_floating(host.dtype(), "detect_anomaly", [&]<typename T>() {
    NonFinite found;
    const T* p = host.data_ptr<T>();
    for (std::int64_t i = 0, n = host.numel(); i < n && !(found.nan && found.inf); ++i) {
      if (std::isnan(p[i])) {
        found.nan = true;
      } else if (std::isinf(p[i]) && !found.inf) {
        found.inf = true;
        found.inf_value = static_cast<double>(p[i]);
      }
    }
    return found;
  });
}

}  // namespace

void set_detect_anomaly(bool enabled) { anomaly_enabled = enabled; }
bool is_detect_anomaly_enabled() { return anomaly_enabled; }

void check_forward_anomaly(std::string_view op, const Tensor& output, const std::vector<Tensor>& inputs) {
  const NonFinite out = scan(output);
  if (!out.nan && !out.inf) return;
  NonFinite in;
  for (const Tensor& t : inputs) {
    const NonFinite found = scan(t);
    in.nan |= found.nan;
    in.inf |= found.inf;
  }
  if (out.nan && !in.nan)
    fail("anomaly detected in forward: {} produced NaN (output of shape {}) from inputs without NaN", op,
         output.shape());
  if (out.inf && !in.nan && !in.inf)
    fail("anomaly detected in forward: {} produced {} (output of shape {}) from finite inputs", op,
         out.inf_value > 0 ? "+inf" : "-inf", output.shape());
}

void check_backward_anomaly(std::string_view op, const std::vector<Tensor>& input_grads) {
  for (std::size_t i = 0; i < input_grads.size(); ++i) {
    const NonFinite found = scan(input_grads[i]);
    if (found.nan || found.inf)
      fail("anomaly detected in backward: the backward of {} returned {} in the gradient of its input {} "
           "(shape {})", op, found.nan ? "NaN" : found.inf_value > 0 ? "+inf" : "-inf", i, input_grads[i].shape());
  }
}

void check_backward_seed(const std::vector<Tensor>& grad_outputs) {
  for (const Tensor& g : grad_outputs) {
    const NonFinite found = scan(g);
    if (found.nan || found.inf)
      fail("anomaly detected in backward: the gradient passed to backward() holds {} (shape {})",
           found.nan ? "NaN" : "an infinity", g.shape());
  }
}

}  // namespace ember::autograd
