// Finite-difference gradient check (see gradcheck.h).
#include "autograd/gradcheck.h"

#include <cmath>
#include <cstring>
#include <random>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/factory.h"

namespace ember::autograd {

namespace {

// Storage offset of the e-th element (row-major order) of t.
std::int64_t element_offset(const Tensor& t, std::int64_t e) {
  std::int64_t offset = t.offset();
  for (int d = t.dim() - 1; d >= 0; --d) {
    offset += (e % t.shape()[d]) * t.strides()[d];
    e /= t.shape()[d];
  }
  return offset;
}

// Fresh leaf copies of the inputs with the same strides and offset (a transposed or sliced input
// stays non-contiguous), so the check never touches the caller's tensors.
std::vector<Tensor> leaf_copies(const std::vector<Tensor>& inputs) {
  std::vector<Tensor> out;
  for (const auto& t : inputs) {
    if (!t.defined()) {
      out.emplace_back();
      continue;
    }
    const auto storage_numel =
        static_cast<std::int64_t>(t.storage()->nbytes() / element_size(t.dtype()));
    Tensor storage_copy = make_tensor(t.storage(), {storage_numel}, {1}, 0, t.dtype()).clone();
    Tensor c = make_tensor(storage_copy.storage(), t.shape(), t.strides(), t.offset(), t.dtype());
    if (t.requires_grad()) c.requires_grad_();
    out.push_back(c);
  }
  return out;
}

// t's values in a new tensor whose strides are twice the contiguous ones (every other element of
// a buffer twice as large), so that no kernel can read it as contiguous. A tensor of at most one
// element is returned as it is.
Tensor strided_copy(const Tensor& t) {
  if (!t.defined() || t.numel() <= 1) return t;
  const Shape& shape = t.shape();
  Shape strides(shape.size());
  std::int64_t stride = 2;
  for (int d = t.dim() - 1; d >= 0; --d) {
    strides[d] = stride;
    stride *= shape[d];
  }
  Tensor buffer = zeros({2 * t.numel()}, TensorOptions(t.dtype(), t.device()));
  Tensor view = make_tensor(buffer.storage(), shape, strides, 0, t.dtype());
  const std::size_t size = element_size(t.dtype());
  const auto* src = static_cast<const char*>(t.storage()->data());
  auto* dst = static_cast<char*>(view.storage()->data());
  for (std::int64_t e = 0; e < t.numel(); ++e)
    std::memcpy(dst + element_offset(view, e) * size, src + element_offset(t, e) * size, size);
  if (t.requires_grad()) view.requires_grad_();
  return view;
}

// A random gradient for `out` laid out with doubled strides (see strided_copy).
Tensor random_strided_gradient(const Tensor& out, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<double> values(out.numel());
  for (double& v : values) v = normal(rng);
  return strided_copy(from_vector(values, {out.numel()}, TensorOptions(out.dtype(), out.device())).reshape(out.shape()));
}

std::vector<double> evaluate(const GradcheckFn& fn, const std::vector<Tensor>& inputs) {
  NoGradGuard no_grad;
  return fn(inputs).to_vector<double>();
}

Tensor evaluate_with_grad(const GradcheckFn& fn, const std::vector<Tensor>& inputs) {
  const bool previous = GradMode::is_enabled();
  GradMode::set_enabled(true);
  try {
    Tensor out = fn(inputs);
    GradMode::set_enabled(previous);
    return out;
  } catch (...) {
    GradMode::set_enabled(previous);
    throw;
  }
}

// One backward pass from `out` with incoming gradient g; returns each input's gradient (empty for
// inputs that do not require grad, zeros for those that got none) and reports any gradient that
// reached an input which does not require grad.
// `wanted[i]`: whether input i required grad before the function ran (a function may turn it on).
std::vector<std::vector<double>> backward_once(const Tensor& out, const Tensor& g, std::vector<Tensor>& leaves,
                                               const std::vector<bool>& wanted, GradcheckResult& result,
                                               const std::string& context) {
  for (auto& leaf : leaves)
    if (leaf.defined() && leaf.requires_grad()) leaf.set_grad(Tensor());
  run_backward({out}, {g}, /*retain_graph=*/true);
  std::vector<std::vector<double>> grads;
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    const Tensor& leaf = leaves[i];
    if (!leaf.defined() || !wanted[i]) {
      if (leaf.defined() && leaf.grad().defined()) {
        result.ok = false;
        result.report += fmt::format("{}input {} {} does not require grad but received a gradient\n", context, i,
                                     leaf.shape());
      }
      grads.emplace_back();
      continue;
    }
    Tensor grad = leaf.grad();
    grads.push_back(grad.defined() ? grad.to_vector<double>() : std::vector<double>(leaf.numel(), 0.0));
  }
  return grads;
}

// Compares one analytical entry with its numerical value, keeping the worst one.
void compare(double numerical, double analytical, std::int64_t input, std::int64_t element, std::int64_t output,
             const GradcheckOptions& options, GradcheckResult& result, double& worst) {
  const double err = std::abs(numerical - analytical);
  ++result.checked;
  if (!(err <= options.atol + options.rtol * std::abs(numerical))) result.ok = false;
  const double err_or_inf = std::isnan(err) ? INFINITY : err;
  worst = std::max(worst, err_or_inf);
  if (err_or_inf > result.max_abs_error || std::isnan(err)) {
    result.max_abs_error = err_or_inf;
    result.worst_input = input;
    result.worst_element = element;
    result.worst_output = output;
    result.numerical = numerical;
    result.analytical = analytical;
  }
}

// The whole check on one set of inputs; `context` prefixes its report lines.
void check_inputs(const GradcheckFn& fn, const std::vector<Tensor>& inputs, const GradcheckOptions& options,
                  GradcheckResult& result, const std::string& context) {
  std::vector<Tensor> leaves = leaf_copies(inputs);
  std::vector<bool> wanted;
  for (const Tensor& t : inputs) wanted.push_back(t.defined() && t.requires_grad());
  const Tensor out = evaluate_with_grad(fn, leaves);
  EMBER_CHECK(out.requires_grad(), "gradcheck: the function's output does not require grad");
  const std::int64_t n_out = out.numel();

  // Analytical Jacobian, one row per output element: rows[o][input][element].
  std::vector<std::vector<std::vector<double>>> rows(n_out);
  for (std::int64_t o = 0; o < n_out; ++o) {
    std::vector<double> one_hot(n_out, 0.0);
    one_hot[o] = 1.0;
    rows[o] = backward_once(out, from_vector(one_hot, {n_out}, TensorOptions(out.dtype(), out.device())).reshape(out.shape()),
                            leaves, wanted, result, context);
  }
  // The vector-Jacobian product with a random strided gradient v.
  const Tensor v = random_strided_gradient(out, options.seed);
  const std::vector<double> v_values = v.to_vector<double>();
  const auto vjp = backward_once(out, v, leaves, wanted, result, context);

  // Numerical Jacobian, one column per input element; v^T J accumulated alongside.
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !inputs[i].requires_grad()) continue;
    std::vector<Tensor> probe = leaf_copies(inputs);
    const Tensor& x = probe[i];
    double* storage = static_cast<double*>(x.storage()->data());
    double worst_jacobian = 0, worst_vjp = 0;
    for (std::int64_t e = 0; e < x.numel(); ++e) {
      double& value = storage[element_offset(x, e)];
      const double saved = value;
      value = saved + options.eps;
      const std::vector<double> plus = evaluate(fn, probe);
      value = saved - options.eps;
      const std::vector<double> minus = evaluate(fn, probe);
      value = saved;
      double numerical_vjp = 0;
      for (std::int64_t o = 0; o < n_out; ++o) {
        const double numerical = (plus[o] - minus[o]) / (2 * options.eps);
        numerical_vjp += v_values[o] * numerical;
        compare(numerical, rows[o][i][e], static_cast<std::int64_t>(i), e, o, options, result, worst_jacobian);
      }
      compare(numerical_vjp, vjp[i][e], static_cast<std::int64_t>(i), e, -1, options, result, worst_vjp);
    }
    if (worst_jacobian > options.atol)
      result.report += fmt::format("{}input {} {}: max |numerical - analytical| = {:.3g}\n", context, i,
                                   inputs[i].shape(), worst_jacobian);
    if (worst_vjp > options.atol)
      result.report += fmt::format("{}input {} {}: with a random strided incoming gradient, max |numerical - "
                                   "analytical| = {:.3g}\n", context, i, inputs[i].shape(), worst_vjp);
  }
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs,
                          GradcheckOptions options) {
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    EMBER_CHECK(!t.defined() || t.device().is_cpu(), "gradcheck: input {} is on {}; check on cpu",
                i, t.device());
    EMBER_CHECK(!t.defined() || !t.requires_grad() || t.dtype() == kFloat64,
                "gradcheck: input {} ({} {}) requires grad but is not float64", i, t.dtype(), t.shape());
  }
  GradcheckResult result;
  check_inputs(fn, inputs, options, result, "");
  if (options.strided_inputs) {
    std::vector<Tensor> strided;
    for (const Tensor& t : inputs) strided.push_back(strided_copy(t));
    check_inputs(fn, strided, options, result, "strided inputs: ");
  }
  result.report += fmt::format(
      "gradcheck {}: {} entries, worst error {:.3g} at input {} element {} output {} "
      "(numerical {:.9g}, analytical {:.9g}; output -1 is the random vector-Jacobian product)",
      result.ok ? "passed" : "FAILED", result.checked, result.max_abs_error, result.worst_input,
      result.worst_element, result.worst_output, result.numerical, result.analytical);
  return result;
}

}  // namespace ember::autograd
