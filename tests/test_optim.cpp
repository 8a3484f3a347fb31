// Optimizers, LR schedulers and clip_grad_norm against their closed-form update rules, written out
// here element by element (never by calling the optimizer a second time).
#include <cmath>
#include <numbers>

#include "helpers.h"
#include "nn/optim/clip_grad.h"
#include "nn/optim/optimizer.h"
#include "nn/optim/scheduler.h"
#include "ops/optim.h"

using namespace ember;
using namespace ember::testing;

namespace {

const std::vector<double> kP0{1.0, -2.0, 0.5};
const std::vector<double> kGrad{0.5, 0.25, -1.5};

Tensor param_from(const std::vector<double>& values) {
  return from_vector<double>(values, {static_cast<std::int64_t>(values.size())}).requires_grad_();
}

void set_grad(Tensor& p, const std::vector<double>& g) {
  p.set_grad(from_vector<double>(g, {static_cast<std::int64_t>(g.size())}));
}

// Reference Adam/AdamW/RAdam for one element over `steps` steps with a constant gradient g.
struct AdamRef {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, wd = 0;
  bool decoupled = false, amsgrad = false, rectified = false;

  double run(double p, double g0, int steps) const {
    double m = 0, v = 0, vmax = 0;
    for (int t = 1; t <= steps; ++t) {
      double g = g0;
      if (decoupled) {
        p = p * (1 - lr * wd);
      } else {
        g = g + wd * p;
      }
      m = beta1 * m + (1 - beta1) * g;
      v = beta2 * v + (1 - beta2) * g * g;
      const double bc1 = 1 - std::pow(beta1, t), bc2 = 1 - std::pow(beta2, t);
      if (!rectified) {
        vmax = std::max(vmax, v);
        const double second = amsgrad ? vmax : v;
        p = p - lr / bc1 * m / (std::sqrt(second) / std::sqrt(bc2) + eps);
        continue;
      }
      const double rho_inf = 2 / (1 - beta2) - 1;
      const double rho_t = rho_inf - 2 * t * std::pow(beta2, t) / bc2;
      if (rho_t > 5) {
        const double r = std::sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t));
        p = p - lr * r * (m / bc1) * std::sqrt(bc2) / (std::sqrt(v) + eps);
      } else {
        p = p - lr * (m / bc1);
      }
    }
    return p;
  }

  std::vector<double> run(const std::vector<double>& p, const std::vector<double>& g, int steps) const {
    std::vector<double> out;
    for (std::size_t i = 0; i < p.size(); ++i) out.push_back(run(p[i], g[i], steps));
    return out;
  }
};

template <typename Opt>
void take_steps(Opt& opt, Tensor& p, const std::vector<double>& g, int steps) {
  for (int s = 0; s < steps; ++s) {
    set_grad(p, g);
    opt.step();
  }
}

}  // namespace

TEST_CASE("optim: SGD without and with weight decay") {
  for (double wd : {0.0, 0.1}) {
    Tensor p = param_from(kP0);
    optim::SGD opt({p}, {.lr = 0.1, .weight_decay = wd});
    take_steps(opt, p, kGrad, 3);
    // p_{k+1} = p_k - lr (g + wd p_k)
    std::vector<double> expected = kP0;
    for (int s = 0; s < 3; ++s)
      for (std::size_t i = 0; i < expected.size(); ++i) expected[i] -= 0.1 * (kGrad[i] + wd * expected[i]);
    check_values(p, expected, 1e-12);
  }
}

TEST_CASE("optim: SGD momentum, dampening and nesterov") {
  struct Case { double momentum, dampening; bool nesterov; };
  for (Case c : {Case{0.9, 0.0, false}, Case{0.9, 0.3, false}, Case{0.8, 0.0, true}}) {
    Tensor p = param_from(kP0);
    optim::SGD opt({p}, {.lr = 0.05, .momentum = c.momentum, .dampening = c.dampening, .weight_decay = 0.01,
                         .nesterov = c.nesterov});
    take_steps(opt, p, kGrad, 3);
    // d = g + wd p; buf = d on step 1, else momentum buf + (1 - dampening) d;
    // p -= lr (nesterov ? d + momentum buf : buf)
    std::vector<double> expected = kP0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      double buf = 0;
      for (int t = 1; t <= 3; ++t) {
        const double d = kGrad[i] + 0.01 * expected[i];
        buf = t == 1 ? d : c.momentum * buf + (1 - c.dampening) * d;
        expected[i] -= 0.05 * (c.nesterov ? d + c.momentum * buf : buf);
      }
    }
    INFO("momentum " << c.momentum << " dampening " << c.dampening << " nesterov " << c.nesterov);
    check_values(p, expected, 1e-12);
  }
}

TEST_CASE("optim: Adam with L2 weight decay and amsgrad") {
  for (double wd : {0.0, 0.1}) {
    for (bool amsgrad : {false, true}) {
      Tensor p = param_from(kP0);
      optim::Adam opt({p}, {.lr = 0.01, .betas = {0.8, 0.95}, .eps = 1e-6, .weight_decay = wd, .amsgrad = amsgrad});
      // amsgrad only matters once v shrinks: alternate the gradient's size.
      std::vector<std::vector<double>> grads{kGrad, {2.0, -1.0, 0.1}, kGrad};
      for (const auto& g : grads) {
        set_grad(p, g);
        opt.step();
      }
      AdamRef ref{.lr = 0.01, .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-6, .wd = wd, .amsgrad = amsgrad};
      std::vector<double> expected;
      for (std::size_t i = 0; i < kP0.size(); ++i) {
        double x = kP0[i], m = 0, v = 0, vmax = 0;
        for (int t = 1; t <= 3; ++t) {
          const double g = grads[t - 1][i] + wd * x;
          m = ref.beta1 * m + (1 - ref.beta1) * g;
          v = ref.beta2 * v + (1 - ref.beta2) * g * g;
          vmax = std::max(vmax, v);
          const double bc1 = 1 - std::pow(ref.beta1, t), bc2 = 1 - std::pow(ref.beta2, t);
          x -= ref.lr / bc1 * m / (std::sqrt(amsgrad ? vmax : v) / std::sqrt(bc2) + ref.eps);
        }
        expected.push_back(x);
      }
      INFO("wd " << wd << " amsgrad " << amsgrad);
      check_values(p, expected, 1e-12);
    }
  }
}

TEST_CASE("optim: Adam with a constant gradient") {
  Tensor p = param_from(kP0);
  optim::Adam opt({p}, {.lr = 0.01});
  take_steps(opt, p, kGrad, 3);
  check_values(p, AdamRef{.lr = 0.01}.run(kP0, kGrad, 3), 1e-12);
}

TEST_CASE("optim: AdamW decays the weights decoupled from the gradient") {
  Tensor p = param_from(kP0);
  optim::AdamW opt({p}, {.lr = 0.01, .weight_decay = 0.1});
  take_steps(opt, p, kGrad, 3);
  check_values(p, AdamRef{.lr = 0.01, .wd = 0.1, .decoupled = true}.run(kP0, kGrad, 3), 1e-12);
  // The default weight decay is PyTorch's 0.01, also when other options are given.
  Tensor q = param_from(kP0);
  optim::AdamW defaults({q}, {.lr = 0.1});
  CHECK(*defaults.param_groups()[0].weight_decay == 0.01);
}

TEST_CASE("optim: RAdam takes plain momentum steps until rho_t > 5, then rectified ones") {
  // With beta2 = 0.999, rho_t <= 5 for t <= 5 and rho_t > 5 from t = 6: 7 steps cover both.
  for (double wd : {0.0, 0.1}) {
    for (bool decoupled : {false, true}) {
      Tensor p = param_from(kP0);
      optim::RAdam opt({p}, {.lr = 0.01, .weight_decay = wd, .decoupled_weight_decay = decoupled});
      take_steps(opt, p, kGrad, 7);
      AdamRef ref{.lr = 0.01, .wd = wd, .decoupled = decoupled, .rectified = true};
      INFO("wd " << wd << " decoupled " << decoupled);
      check_values(p, ref.run(kP0, kGrad, 7), 1e-12);
      // Five steps stay in the un-adapted branch: p - lr sum_t m_t / (1 - beta1^t) with wd = 0.
      if (wd == 0) {
        Tensor q = param_from(kP0);
        optim::RAdam five({q}, {.lr = 0.01});
        take_steps(five, q, kGrad, 5);
        std::vector<double> expected = kP0;
        for (std::size_t i = 0; i < expected.size(); ++i)
          for (int t = 1; t <= 5; ++t) expected[i] -= 0.01 * kGrad[i];  // m_t / (1 - beta1^t) = g
        check_values(q, expected, 1e-12);
      }
    }
  }
}

TEST_CASE("optim: float32 parameters, large enough to run in parallel") {
  const std::int64_t n = 100000;
  Tensor p = (arange(0, static_cast<double>(n), 1, kFloat32) * (1.0 / n) - 0.5).detach().requires_grad_();
  Tensor g = (arange(0, static_cast<double>(n), 1, kFloat32) * (2.0 / n) - 1.0).detach();
  const std::vector<double> p0 = p.to_vector<double>(), g0 = g.to_vector<double>();
  optim::Adam opt({p}, {.lr = 0.01, .weight_decay = 0.1});
  for (int s = 0; s < 3; ++s) {
    p.set_grad(g);
    opt.step();
  }
  std::vector<double> got = p.to_vector<double>();
  AdamRef ref{.lr = 0.01, .wd = 0.1};
  double worst = 0;
  for (std::int64_t i = 0; i < n; ++i) worst = std::max(worst, std::abs(got[i] - ref.run(p0[i], g0[i], 3)));
  CHECK(worst < 1e-5);
}

TEST_CASE("optim: parameter groups keep their own lr and weight decay") {
  Tensor a = param_from(kP0), b = param_from(kP0);
  optim::SGD opt(std::vector<optim::ParamGroup>{{{a}, 0.1}, {{b}, 0.01, 0.5}}, {.lr = 1.0, .weight_decay = 0.2});
  CHECK(*opt.param_groups()[0].weight_decay == 0.2);  // unset: the optimizer's default
  CHECK(*opt.param_groups()[1].lr == 0.01);
  set_grad(a, kGrad);
  set_grad(b, kGrad);
  opt.step();
  std::vector<double> ea, eb;
  for (std::size_t i = 0; i < kP0.size(); ++i) {
    ea.push_back(kP0[i] - 0.1 * (kGrad[i] + 0.2 * kP0[i]));
    eb.push_back(kP0[i] - 0.01 * (kGrad[i] + 0.5 * kP0[i]));
  }
  check_values(a, ea, 1e-12);
  check_values(b, eb, 1e-12);
  // Changing a group's lr between steps takes effect on the next one.
  opt.param_groups()[1].lr = 0.0;
  opt.step();
  check_values(b, eb, 1e-12);
}

TEST_CASE("optim: add_param_group after construction and after a step: the new group steps with its own lr") {
  Tensor a = param_from(kP0), b = param_from(kP0), c = param_from(kP0);
  optim::Adam opt({a}, {.lr = 0.01, .weight_decay = 0.1});
  take_steps(opt, a, kGrad, 1);
  // b joins with its own lr; its weight decay comes from the defaults. c joins with both unset.
  opt.add_param_group({{b}, 0.05});
  opt.add_param_group({{c}});
  REQUIRE(opt.param_groups().size() == 3);
  CHECK(*opt.param_groups()[1].lr == 0.05);
  CHECK(*opt.param_groups()[1].weight_decay == 0.1);
  CHECK(*opt.param_groups()[2].lr == 0.01);
  for (int s = 0; s < 2; ++s) {
    set_grad(a, kGrad);
    set_grad(b, kGrad);
    set_grad(c, kGrad);
    opt.step();
  }
  // a has had 3 steps; b and c 2 each, counted (and bias-corrected) from their own first step.
  check_values(a, AdamRef{.lr = 0.01, .wd = 0.1}.run(kP0, kGrad, 3), 1e-12);
  check_values(b, AdamRef{.lr = 0.05, .wd = 0.1}.run(kP0, kGrad, 2), 1e-12);
  check_values(c, AdamRef{.lr = 0.01, .wd = 0.1}.run(kP0, kGrad, 2), 1e-12);
  // Adam's first steps move by about lr per element: b's lr, not the default, was used.
  CHECK(std::abs(b.to_vector<double>()[0] - kP0[0]) > 0.09);
  nn::StateDict s = opt.state_dict();
  CHECK(s.at("state.0.0.step").item<std::int64_t>() == 3);
  CHECK(s.at("state.1.0.step").item<std::int64_t>() == 2);
  CHECK(s.at("group.1.lr").item<double>() == 0.05);
  CHECK(s.at("group.2.weight_decay").item<double>() == 0.1);
  // A parameter already optimized cannot join again, and a bad lr is refused; neither adds a group.
  CHECK_ERROR_CONTAINS(opt.add_param_group({{a}}), "Adam", "appears twice");
  CHECK_ERROR_CONTAINS(opt.add_param_group({{param_from(kP0)}, -1.0}), "Adam", "lr");
  CHECK(opt.param_groups().size() == 3);
  // The SGD path: a group added before any step uses its lr from the first step.
  Tensor d = param_from(kP0), e = param_from(kP0);
  optim::SGD sgd({d}, {.lr = 0.1});
  sgd.add_param_group({{e}, 0.5});
  set_grad(d, kGrad);
  set_grad(e, kGrad);
  sgd.step();
  std::vector<double> ed, ee;
  for (std::size_t i = 0; i < kP0.size(); ++i) {
    ed.push_back(kP0[i] - 0.1 * kGrad[i]);
    ee.push_back(kP0[i] - 0.5 * kGrad[i]);
  }
  check_values(d, ed, 1e-12);
  check_values(e, ee, 1e-12);
}

TEST_CASE("optim: parameters without a grad are skipped and keep their state") {
  Tensor a = param_from(kP0), b = param_from(kP0);
  optim::Adam opt({a, b}, {.lr = 0.01});
  set_grad(a, kGrad);
  opt.step();
  check_values(b, kP0, 0);
  nn::StateDict s = opt.state_dict();
  CHECK(s.at("state.0.0.step").item<std::int64_t>() == 1);
  CHECK(s.at("state.0.1.step").item<std::int64_t>() == 0);
  check_values(s.at("state.0.1.exp_avg"), {0, 0, 0}, 0);
  // zero_grad drops grads (set_to_none) or zeroes them.
  opt.zero_grad(false);
  check_values(a.grad(), {0, 0, 0}, 0);
  opt.zero_grad();
  CHECK(!a.grad().defined());
  opt.step();  // nothing has a grad: nothing moves
  CHECK(opt.state_dict().at("state.0.0.step").item<std::int64_t>() == 1);
}

TEST_CASE("optim: state_dict save and load resumes bit-identically") {
  using Factory = std::function<std::unique_ptr<optim::Optimizer>(Tensor&)>;
  const std::vector<std::pair<const char*, Factory>> factories{
      {"SGD", [](Tensor& p) { return std::make_unique<optim::SGD>(std::vector<Tensor>{p}, optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true}); }},
      {"Adam", [](Tensor& p) { return std::make_unique<optim::Adam>(std::vector<Tensor>{p}, optim::AdamOptions{.lr = 0.01, .weight_decay = 0.1, .amsgrad = true}); }},
      {"AdamW", [](Tensor& p) { return std::make_unique<optim::AdamW>(std::vector<Tensor>{p}, optim::AdamWOptions{.lr = 0.01}); }},
      {"RAdam", [](Tensor& p) { return std::make_unique<optim::RAdam>(std::vector<Tensor>{p}, optim::RAdamOptions{.lr = 0.01}); }},
  };
  auto grad_at = [](int s) { return std::vector<double>{0.5 + s, -0.25 * s, std::sin(s)}; };
  for (const auto& [name, make] : factories) {
    INFO(name);
    Tensor p = param_from(kP0);
    auto opt = make(p);
    for (int s = 0; s < 4; ++s) {
      set_grad(p, grad_at(s));
      opt->step();
    }
    opt->param_groups()[0].lr = 0.003;  // as a scheduler would
    // Snapshot (state_dict holds the live tensors).
    nn::StateDict saved;
    for (const auto& [key, t] : opt->state_dict()) saved[key] = t.clone();
    const std::vector<double> p_saved = p.to_vector<double>();
    for (int s = 4; s < 8; ++s) {
      set_grad(p, grad_at(s));
      opt->step();
    }

    Tensor q = param_from(p_saved);
    auto resumed = make(q);
    resumed->load_state_dict(saved);
    CHECK(*resumed->param_groups()[0].lr == 0.003);
    for (int s = 4; s < 8; ++s) {
      set_grad(q, grad_at(s));
      resumed->step();
    }
    CHECK(q.to_vector<double>() == p.to_vector<double>());
    // The loaded state is a copy: the dict it came from is unchanged.
    CHECK(saved.at("state.0.0.step").item<std::int64_t>() == 4);
  }
}

TEST_CASE("optim: load_state_dict names missing, unexpected and mis-shaped keys") {
  Tensor p = param_from(kP0);
  optim::Adam opt({p});
  nn::StateDict good = opt.state_dict();
  CHECK(good.size() == 5);  // group.0.lr, group.0.weight_decay, state.0.0.{step, exp_avg, exp_avg_sq}

  nn::StateDict renamed = good;
  renamed["state.0.0.exp_avgX"] = renamed.at("state.0.0.exp_avg");
  renamed.erase("state.0.0.exp_avg");
  CHECK_ERROR_CONTAINS(opt.load_state_dict(renamed), "Adam.load_state_dict", "missing keys [state.0.0.exp_avg]",
                       "unexpected keys [state.0.0.exp_avgX]");

  nn::StateDict misshaped = good;
  misshaped["state.0.0.exp_avg_sq"] = zeros({4}, kFloat64);
  set_grad(p, kGrad);
  opt.step();
  CHECK_ERROR_CONTAINS(opt.load_state_dict(misshaped), "mis-shaped keys", "state.0.0.exp_avg_sq", "[3]", "[4]");
  // A failed load changes nothing.
  CHECK(opt.state_dict().at("state.0.0.step").item<std::int64_t>() == 1);

  // SGD's keys follow its options: a momentum buffer only with momentum.
  optim::SGD plain({p}, {.lr = 0.1});
  optim::SGD heavy({p}, {.lr = 0.1, .momentum = 0.9});
  CHECK_ERROR_CONTAINS(plain.load_state_dict(heavy.state_dict()), "SGD.load_state_dict",
                       "unexpected keys [state.0.0.momentum_buffer]");
}

TEST_CASE("optim: bad options and inputs throw ember::Error naming the optimizer") {
  Tensor p = param_from(kP0);
  CHECK_ERROR_CONTAINS(optim::Adam({p}, {.betas = {0.9, 1.0}}), "Adam", "beta2", "1");
  CHECK_ERROR_CONTAINS(optim::SGD({p}, {.lr = -1.0}), "SGD", "lr", "-1");
  CHECK_ERROR_CONTAINS(optim::SGD({p}, {.nesterov = true}), "SGD", "nesterov");
  CHECK_ERROR_CONTAINS(optim::SGD({p, p}), "SGD", "appears twice");
  CHECK_ERROR_CONTAINS(optim::AdamW({p * 2.0}), "AdamW", "non-leaf");
  // A grad of the wrong dtype is refused where it is set, before an optimizer could meet it.
  CHECK_ERROR_CONTAINS(p.set_grad(zeros({3}, kFloat32)), "set_grad", "float32", "float64");
}

TEST_CASE("optim: fused kernel entry points check shapes, dtypes and layout") {
  Tensor p = zeros({2, 2}, kFloat64), m = zeros({2, 2}, kFloat64), v = zeros({2, 2}, kFloat64);
  CHECK_ERROR_CONTAINS(fused_adam_step(p, zeros({3}, kFloat64), m, v, Tensor(), {}), "Adam", "grad", "[3]", "[2, 2]");
  CHECK_ERROR_CONTAINS(fused_adam_step(p, zeros({2, 2}, kFloat64), zeros({2, 2}), v, Tensor(), {}),
                       "Adam", "exp_avg", "float32", "float64");
  CHECK_ERROR_CONTAINS(fused_adam_step(p, zeros({2, 2}, kFloat64), m, v, Tensor(), {.decoupled_weight_decay = true, .amsgrad = true}),
                       "AdamW", "max_exp_avg_sq");
  CHECK_ERROR_CONTAINS(fused_adam_step(p, zeros({2, 2}, kFloat64), m, v, Tensor(), {.step = 0}), "Adam", "step");
  CHECK_ERROR_CONTAINS(fused_sgd_step(zeros({2, 3}, kFloat64).t(), zeros({3, 2}, kFloat64), Tensor(), {}),
                       "SGD", "not contiguous", "[3, 2]");
  CHECK_ERROR_CONTAINS(fused_sgd_step(p, zeros({2, 2}, kFloat64), Tensor(), {.momentum = 0.9}), "SGD", "momentum");
  CHECK_ERROR_CONTAINS(fused_sgd_step(zeros({2}, kInt64), zeros({2}, kInt64), Tensor(), {}), "SGD", "int64");
}

TEST_CASE("optim: StepLR drops 1e-3 to 1e-4 after 3000 steps") {
  Tensor p = param_from(kP0);
  optim::Adam opt({p}, {.lr = 1e-3});
  optim::StepLR sched(opt, 3000, 0.1);
  CHECK(*opt.param_groups()[0].lr == 1e-3);
  for (int s = 1; s <= 6001; ++s) {
    sched.step();
    const double lr = *opt.param_groups()[0].lr;
    CHECK(sched.last_step() == s);
    CHECK(sched.get_last_lr()[0] == lr);
    if (s == 2999) CHECK(lr == 1e-3);
    if (s == 3000 || s == 3001) CHECK(lr == 1e-4);
    if (s == 6000) CHECK(lr == doctest::Approx(1e-5).epsilon(1e-12));
  }
}

TEST_CASE("optim: MultiStepLR, LinearWarmup and CosineAnnealingLR follow their closed forms") {
  Tensor p = param_from(kP0);
  auto lrs = [](optim::LRScheduler& sched, int steps) {
    std::vector<double> out{sched.get_last_lr()[0]};
    for (int s = 0; s < steps; ++s) {
      sched.step();
      out.push_back(sched.get_last_lr()[0]);
    }
    return out;
  };
  {
    optim::SGD opt({p}, {.lr = 1.0});
    optim::MultiStepLR sched(opt, {5, 2}, 0.5);  // sorted: 2, 5
    CHECK(lrs(sched, 6) == std::vector<double>{1, 1, 0.5, 0.5, 0.5, 0.25, 0.25});
  }
  {
    optim::SGD opt({p}, {.lr = 0.8});
    optim::LinearWarmup sched(opt, 4);  // lr = base min(1, (t + 1) / 4)
    check_values(from_vector<double>(lrs(sched, 5)), {0.2, 0.4, 0.6, 0.8, 0.8, 0.8}, 1e-15);
  }
  {
    optim::SGD opt({p}, {.lr = 0.1});
    optim::CosineAnnealingLR sched(opt, 10, 1e-3);
    std::vector<double> got = lrs(sched, 10);
    for (int t : {0, 3, 5, 10}) {
      const double expected = 1e-3 + (0.1 - 1e-3) * (1 + std::cos(std::numbers::pi * t / 10)) / 2;
      CHECK(got[t] == doctest::Approx(expected).epsilon(1e-14));
    }
    CHECK(got[5] == doctest::Approx((0.1 + 1e-3) / 2).epsilon(1e-14));
    CHECK(got[10] == doctest::Approx(1e-3).epsilon(1e-14));
  }
}

TEST_CASE("optim: SequentialLR chains warmup and cosine from the same base lr, per group") {
  Tensor a = param_from(kP0), b = param_from(kP0);
  optim::Adam opt(std::vector<optim::ParamGroup>{{{a}, 1.0}, {{b}, 0.1}});
  auto warmup = std::make_shared<optim::LinearWarmup>(opt, 2);
  auto cosine = std::make_shared<optim::CosineAnnealingLR>(opt, 4);
  optim::SequentialLR sched(opt, {warmup, cosine}, {2});
  CHECK(sched.base_lrs() == std::vector<double>{1.0, 0.1});
  // t = 0, 1: warmup (1/2, 1); t = 2..6: cosine restarted at 0 with T_max 4.
  std::vector<double> expected{0.5, 1.0};
  for (int u = 0; u <= 4; ++u) expected.push_back((1 + std::cos(std::numbers::pi * u / 4)) / 2);
  for (std::size_t t = 0; t < expected.size(); ++t) {
    if (t > 0) sched.step();
    INFO("t = " << t);
    CHECK(sched.get_last_lr()[0] == doctest::Approx(expected[t]).epsilon(1e-14));
    CHECK(*opt.param_groups()[1].lr == doctest::Approx(0.1 * expected[t]).epsilon(1e-14));
  }
  CHECK_ERROR_CONTAINS(optim::SequentialLR(opt, {warmup, cosine}, {}), "SequentialLR", "milestone");
}

TEST_CASE("optim: scheduler state_dict resumes the schedule") {
  Tensor p = param_from(kP0);
  optim::SGD opt({p}, {.lr = 0.1});
  optim::CosineAnnealingLR sched(opt, 100);
  for (int s = 0; s < 37; ++s) sched.step();
  nn::StateDict saved = sched.state_dict();

  optim::SGD opt2({p}, {.lr = 0.1});
  optim::CosineAnnealingLR sched2(opt2, 100);
  sched2.load_state_dict(saved);
  CHECK(sched2.last_step() == 37);
  CHECK(*opt2.param_groups()[0].lr == *opt.param_groups()[0].lr);
  sched.step();
  sched2.step();
  CHECK(sched2.get_last_lr() == sched.get_last_lr());
  saved.erase("last_step");
  CHECK_ERROR_CONTAINS(sched2.load_state_dict(saved), "CosineAnnealingLR.load_state_dict", "missing keys [last_step]");
}

TEST_CASE("optim: clip_grad_norm returns the total norm and scales the grads") {
  Tensor a = param_from({0, 0}), b = param_from({0}), c = param_from({0});
  auto reset = [&] {
    set_grad(a, {3, 4});
    set_grad(b, {12});
  };
  // c has no grad: ignored. Total 2-norm sqrt(9 + 16 + 144) = 13.
  reset();
  CHECK(optim::clip_grad_norm({a, b, c}, 6.5) == doctest::Approx(13).epsilon(1e-14));
  const double coef = 6.5 / (13 + 1e-6);
  check_values(a.grad(), {3 * coef, 4 * coef}, 1e-14);
  check_values(b.grad(), {12 * coef}, 1e-14);
  // Under the limit: untouched.
  reset();
  CHECK(optim::clip_grad_norm({a, b}, 20) == doctest::Approx(13).epsilon(1e-14));
  check_values(a.grad(), {3, 4}, 0);
  // Infinity norm: the largest magnitude; 1-norm: the sum of magnitudes.
  reset();
  CHECK(optim::clip_grad_norm({a, b}, 6, std::numeric_limits<double>::infinity()) == 12);
  check_values(b.grad(), {12 * 6 / (12 + 1e-6)}, 1e-14);
  reset();
  CHECK(optim::clip_grad_norm({a, b}, 100, 1.0) == doctest::Approx(19).epsilon(1e-14));
  reset();
  CHECK(optim::clip_grad_norm({a, b}, 100, 3.0) == doctest::Approx(std::cbrt(27 + 64 + 1728)).epsilon(1e-13));
  CHECK(optim::clip_grad_norm({c}, 1.0) == 0);
  CHECK_ERROR_CONTAINS(optim::clip_grad_norm({a}, 1.0, -2.0), "clip_grad_norm", "-2");
}
