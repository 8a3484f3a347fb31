// Finite-difference gradient check (see gradcheck.h).
#include "autograd/gradcheck.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/factory.h"

namespace ember::autograd {

namespace {

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

// Storage offset of the e-th element (row-major order) of t.
std::int64_t element_offset(const Tensor& t, std::int64_t e) {
  std::int64_t offset = t.offset();
  for (int d = t.dim() - 1; d >= 0; --d) {
    offset += (e % t.shape()[d]) * t.strides()[d];
    e /= t.shape()[d];
  }
  return offset;
}

std::vector<double> evaluate(const GradcheckFn& fn, const std::vector<Tensor>& inputs) {
  NoGradGuard no_grad;
  return fn(inputs).to_vector<double>();
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

  // Analytical Jacobian, one row per output element: rows[o][input][element].
  std::vector<Tensor> leaves = leaf_copies(inputs);
  Tensor out;
  {
    const bool previous = GradMode::is_enabled();
    GradMode::set_enabled(true);
    try {
      out = fn(leaves);
    } catch (...) {
      GradMode::set_enabled(previous);
      throw;
    }
    GradMode::set_enabled(previous);
  }
  EMBER_CHECK(out.requires_grad(), "gradcheck: the function's output does not require grad");
  const std::int64_t n_out = out.numel();
  std::vector<std::vector<std::vector<double>>> rows(n_out);
  for (std::int64_t o = 0; o < n_out; ++o) {
    for (auto& leaf : leaves)
      if (leaf.defined()) leaf.set_grad(Tensor());
    std::vector<double> one_hot(n_out, 0.0);
    one_hot[o] = 1.0;
    Tensor g = from_vector(one_hot, out.shape(), TensorOptions(out.dtype(), out.device()));
    run_backward({out}, {g}, /*retain_graph=*/true);
    for (const auto& leaf : leaves) {
      if (!leaf.defined() || !leaf.requires_grad()) {
        rows[o].emplace_back();
        continue;
      }
      Tensor grad = leaf.grad();
      rows[o].push_back(grad.defined() ? grad.to_vector<double>() : std::vector<double>(leaf.numel(), 0.0));
    }
  }

  // Numerical Jacobian, one column per input element.
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !inputs[i].requires_grad()) continue;
    std::vector<Tensor> probe = leaf_copies(inputs);
    const Tensor& x = probe[i];
    double* storage = static_cast<double*>(x.storage()->data());
    double worst_for_input = 0;
    for (std::int64_t e = 0; e < x.numel(); ++e) {
      double& value = storage[element_offset(x, e)];
      const double saved = value;
      value = saved + options.eps;
      std::vector<double> plus = evaluate(fn, probe);
      value = saved - options.eps;
      std::vector<double> minus = evaluate(fn, probe);
      value = saved;
      for (std::int64_t o = 0; o < n_out; ++o) {
        const double numerical = (plus[o] - minus[o]) / (2 * options.eps);
        const double analytical = rows[o][i][e];
        const double err = std::abs(numerical - analytical);
        ++result.checked;
        if (!(err <= options.atol + options.rtol * std::abs(numerical))) result.ok = false;
        worst_for_input = std::max(worst_for_input, std::isnan(err) ? INFINITY : err);
        if (err > result.max_abs_error || std::isnan(err)) {
          result.max_abs_error = std::isnan(err) ? INFINITY : err;
          result.worst_input = static_cast<std::int64_t>(i);
          result.worst_element = e;
          result.worst_output = o;
          result.numerical = numerical;
          result.analytical = analytical;
        }
      }
    }
    if (worst_for_input > options.atol)
      result.report += fmt::format("input {} {}: max |numerical - analytical| = {:.3g}\n", i,
                                   inputs[i].shape(), worst_for_input);
  }
  result.report += fmt::format(
      "gradcheck {}: {} Jacobian entries, worst error {:.3g} at input {} element {} output {} "
      "(numerical {:.9g}, analytical {:.9g})",
      result.ok ? "passed" : "FAILED", result.checked, result.max_abs_error, result.worst_input,
      result.worst_element, result.worst_output, result.numerical, result.analytical);
  return result;
}

}  // namespace ember::autograd
