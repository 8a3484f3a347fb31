// nn::Module features no library layer exercises: buffers (no layer registers one), named_children,
// num_parameters, and load_state_dict(strict = false). The modules here are defined for the test.
#include "helpers.h"

using namespace ember;
using namespace ember::testing;

namespace {

// A parameter, two buffers (float32 running statistics and an int64 counter) and a child, as a
// batch-norm-like layer would hold them.
struct Tracker : nn::Module {
  Tracker() {
    scale = register_parameter("scale", full({3}, 2.0));
    running_mean = register_buffer("running_mean", zeros({3}));
    count = register_buffer("count", zeros({}, kInt64));
    proj = register_module("proj", std::make_shared<nn::Linear>(3, 2));
  }
  Tensor scale, running_mean, count;
  std::shared_ptr<nn::Linear> proj;
};

// Holds a Tracker, a buffer of its own, and one Linear registered under two names (a shared block).
struct Outer : nn::Module {
  Outer() {
    steps = register_buffer("steps", full({2}, 7.0, kFloat64));
    tracker = register_module("tracker", std::make_shared<Tracker>());
    shared = std::make_shared<nn::Linear>(4, 3);
    register_module("first", shared);
    register_module("second", shared);
  }
  Tensor steps;
  std::shared_ptr<Tracker> tracker;
  std::shared_ptr<nn::Linear> shared;
};

template <typename Named>
std::vector<std::string> names_of(const Named& named) {
  std::vector<std::string> names;
  for (const auto& entry : named) names.push_back(entry.first);
  return names;
}

}  // namespace

TEST_CASE("module: buffers are in the state dict and named_buffers, are not parameters, and load in place") {
  manual_seed(31);
  Tracker t;
  CHECK(names_of(t.named_buffers()) == std::vector<std::string>{"running_mean", "count"});
  CHECK(names_of(t.named_parameters()) == std::vector<std::string>{"scale", "proj.weight", "proj.bias"});
  CHECK(t.parameters().size() == 3);
  CHECK(t.num_parameters() == 3 + 6 + 2);  // buffers do not count
  for (const auto& [name, b] : t.named_buffers()) {
    INFO(name);
    CHECK_FALSE(b.requires_grad());
  }
  // A buffer made from a tensor that requires grad is stored detached.
  Tracker d;
  Tensor b = d.register_buffer("from_grad", ones({2}).requires_grad_());
  CHECK_FALSE(b.requires_grad());
  CHECK(b.is_leaf());
  CHECK_ERROR_CONTAINS(d.register_buffer("scale", ones({1})), "buffer", "scale", "parameter");
  CHECK_ERROR_CONTAINS(d.register_buffer("proj", ones({1})), "buffer", "proj", "child module");
  CHECK_ERROR_CONTAINS(d.register_parameter("count", ones({1})), "parameter", "count", "buffer");

  // The state dict holds parameters and buffers, by dotted name through the tree.
  Outer outer;
  const nn::StateDict state = outer.state_dict();
  std::vector<std::string> keys;
  for (const auto& [name, tensor] : state) keys.push_back(name);
  CHECK(keys == std::vector<std::string>{"first.bias", "first.weight", "steps", "tracker.count", "tracker.proj.bias",
                                         "tracker.proj.weight", "tracker.running_mean", "tracker.scale"});
  CHECK(names_of(outer.named_buffers()) ==
        std::vector<std::string>{"steps", "tracker.running_mean", "tracker.count"});
  CHECK(names_of(outer.named_buffers(false)) == std::vector<std::string>{"steps"});
  check_values(state.at("steps"), {7, 7}, 0);

  // load_state_dict copies buffers in, into the handles the module keeps.
  Outer target;
  Tensor mean_handle = target.tracker->running_mean;
  nn::StateDict changed = outer.state_dict();
  changed["tracker.running_mean"] = tensor({0.5, -1.5, 2.5});
  changed["tracker.count"] = full({}, 41.0, kInt64);
  changed["steps"] = tensor({1.0, 2.0}, kFloat64);
  target.load_state_dict(changed);
  check_values(mean_handle, {0.5, -1.5, 2.5}, 0);
  CHECK(target.tracker->count.item<std::int64_t>() == 41);
  check_values(target.steps, {1, 2}, 0);
  check_values(target.tracker->proj->weight, outer.tracker->proj->weight.to_vector<double>(), 0);
  // A strict load names a missing buffer like any missing key.
  nn::StateDict without_buffer = changed;
  without_buffer.erase("tracker.count");
  CHECK_ERROR_CONTAINS(target.load_state_dict(without_buffer), "load_state_dict", "missing", "tracker.count");

  // to(dtype) converts floating buffers in place (handles stay valid) and leaves integer ones.
  target.to(kFloat64);
  CHECK(mean_handle.dtype() == kFloat64);
  check_values(mean_handle, {0.5, -1.5, 2.5}, 0);
  CHECK(target.tracker->count.dtype() == kInt64);
  CHECK(target.tracker->count.item<std::int64_t>() == 41);
  CHECK(target.tracker->scale.dtype() == kFloat64);

  // An optimizer over parameters() never touches a buffer.
  Tracker trained;
  optim::SGD sgd(trained.parameters(), {.lr = 0.1});
  CHECK(sgd.param_groups()[0].params.size() == 3);
  // loss = sum(proj(1)) * sum(running_mean + scale): the buffer is used, but only scale moves, by
  // lr * dloss/dscale = 0.1 * sum(proj(1)).
  const double proj_sum = sum(trained.proj->forward(ones({1, 3}))).item<double>();
  sum(trained.proj->forward(ones({1, 3})) * sum(trained.running_mean + trained.scale)).backward();
  CHECK_FALSE(trained.running_mean.grad().defined());
  sgd.step();
  check_values(trained.running_mean, {0, 0, 0}, 0);
  CHECK(trained.count.item<std::int64_t>() == 0);
  check_values(trained.scale, std::vector<double>(3, 2.0 - 0.1 * proj_sum), 1e-6);
}

TEST_CASE("module: named_children lists direct children in order; num_parameters counts every element once") {
  manual_seed(32);
  nn::FeedForward ffn(4, 8);
  CHECK(names_of(ffn.named_children()) == std::vector<std::string>{"fc1", "dropout", "fc2"});
  CHECK(ffn.named_children()[0].second.get() == ffn.fc1.get());
  CHECK(ffn.named_children()[2].second.get() == ffn.fc2.get());
  CHECK(ffn.children().size() == 3);
  CHECK(ffn.num_parameters() == (4 * 8 + 8) + (8 * 4 + 4));

  // Only direct children; a module registered twice is listed twice but its parameters count once.
  Outer outer;
  CHECK(names_of(outer.named_children()) == std::vector<std::string>{"tracker", "first", "second"});
  CHECK(outer.named_children()[1].second.get() == outer.named_children()[2].second.get());
  CHECK(names_of(outer.named_parameters()) ==
        std::vector<std::string>{"tracker.scale", "tracker.proj.weight", "tracker.proj.bias", "first.weight",
                                 "first.bias"});
  CHECK(outer.num_parameters() == 11 + (4 * 3 + 3));
  CHECK(outer.named_parameters(false).empty());

  CHECK(nn::Linear(5, 3).num_parameters() == 18);
  CHECK(nn::Linear(5, 3, false).num_parameters() == 15);
  CHECK(nn::LayerNorm(Shape{2, 3}).num_parameters() == 12);
  CHECK(nn::LayerNorm(Shape{4}, 1e-5, false).num_parameters() == 0);
  CHECK(nn::Embedding(6, 3).num_parameters() == 18);
  CHECK(nn::Dropout(0.1).num_parameters() == 0);
  // A tensor registered as two parameters (tied weights) counts once.
  nn::Linear tied(3, 3);
  tied.register_parameter("alias", tied.weight);
  CHECK(tied.parameters().size() == 2);
  CHECK(tied.num_parameters() == 12);
}

TEST_CASE("module: load_state_dict(strict = false) loads the keys present and tolerates missing and unexpected ones") {
  manual_seed(33);
  Tracker source, target;
  {
    NoGradGuard no_grad;
    source.scale.copy_(tensor({-1.0, 0.25, 3.0}));
    source.running_mean.copy_(tensor({4.0, 5.0, 6.0}));
  }
  const std::vector<double> bias_before = target.proj->bias.to_vector<double>();
  const std::vector<double> weight_before = target.proj->weight.to_vector<double>();
  REQUIRE(bias_before != source.proj->bias.to_vector<double>());
  nn::StateDict partial;
  partial["scale"] = source.scale;
  partial["running_mean"] = source.running_mean;
  partial["proj.weight"] = source.proj->weight;
  partial["unknown.weight"] = ones({2, 2});  // unexpected: ignored
  // Missing: proj.bias and count keep their values.
  CHECK_ERROR_CONTAINS(target.load_state_dict(partial), "missing keys [proj.bias, count]",
                       "unexpected keys [unknown.weight]");
  check_values(target.scale, {2, 2, 2}, 0);  // a failed strict load changes nothing
  target.load_state_dict(partial, false);
  check_values(target.scale, {-1.0, 0.25, 3.0}, 0);
  check_values(target.running_mean, {4, 5, 6}, 0);
  check_values(target.proj->weight, source.proj->weight.to_vector<double>(), 0);
  CHECK(target.proj->weight.to_vector<double>() != weight_before);
  check_values(target.proj->bias, bias_before, 0);
  CHECK(target.count.item<std::int64_t>() == 0);
  // The loaded values are copies: changing the source afterwards does not reach the target.
  {
    NoGradGuard no_grad;
    source.scale.fill_(9.0);
  }
  check_values(target.scale, {-1.0, 0.25, 3.0}, 0);
  // Non-strict still refuses a key of the wrong shape, and then loads nothing.
  nn::StateDict misshaped = partial;
  misshaped["scale"] = ones({4});
  misshaped["running_mean"] = zeros({3});
  CHECK_ERROR_CONTAINS(target.load_state_dict(misshaped, false), "load_state_dict", "scale", "[4]", "[3]");
  check_values(target.running_mean, {4, 5, 6}, 0);
  // An empty dict loads nothing and is accepted.
  target.load_state_dict({}, false);
  check_values(target.scale, {-1.0, 0.25, 3.0}, 0);
}
