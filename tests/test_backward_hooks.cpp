// Gradient-ready hooks and end-of-backward callbacks (autograd/backward_hooks.h): when they run,
// what .grad holds then, and their errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "helpers.h"

using namespace ember;

TEST_CASE("backward hooks: a leaf's hook runs once, after its gradients from every use are summed") {
  Tensor a = from_vector<double>({1.0, 2.0}).requires_grad_();
  Tensor b = from_vector<double>({3.0, 4.0}).requires_grad_();
  std::vector<std::string> events;
  std::vector<double> grad_seen;
  autograd::add_grad_ready_hook(a, [&](const Tensor& leaf) {
    events.push_back("a");
    grad_seen = leaf.grad().to_vector<double>();
  });
  autograd::add_grad_ready_hook(b, [&](const Tensor&) {
    events.push_back("b");
    autograd::queue_end_of_backward_callback([&] { events.push_back("end"); });
  });
  // a is used twice: d/da sum(a*b + a) = b + 1
  (a * b + a).sum().backward();
  CHECK(grad_seen == std::vector<double>{4.0, 5.0});
  REQUIRE(events.size() == 3);
  CHECK(events.back() == "end");
  CHECK(std::count(events.begin(), events.end(), std::string("a")) == 1);
}

TEST_CASE("backward hooks: a removed hook no longer runs; a leaf backward does not reach gets no call") {
  Tensor a = from_vector<double>({1.0}).requires_grad_();
  Tensor unused = from_vector<double>({1.0}).requires_grad_();
  int calls = 0;
  auto handle = autograd::add_grad_ready_hook(a, [&](const Tensor&) { ++calls; });
  autograd::add_grad_ready_hook(unused, [&](const Tensor&) { calls += 100; });
  (a * 2.0).sum().backward();
  CHECK(calls == 1);
  autograd::remove_grad_ready_hook(a, handle);
  autograd::remove_grad_ready_hook(a, handle);  // twice: ignored
  (a * 2.0).sum().backward();
  CHECK(calls == 1);
  CHECK(a.grad().item<double>() == 4.0);  // accumulated over both passes
}

TEST_CASE("backward hooks: errors name the function and what was wrong") {
  Tensor plain = from_vector<double>({1.0});
  CHECK_THROWS_WITH_AS(autograd::add_grad_ready_hook(plain, [](const Tensor&) {}),
                       doctest::Contains("a leaf that does not require grad"), Error);
  Tensor leaf = from_vector<double>({1.0}).requires_grad_();
  CHECK_THROWS_WITH_AS(autograd::add_grad_ready_hook(leaf * 2.0, [](const Tensor&) {}),
                       doctest::Contains("a non-leaf tensor"), Error);
  CHECK_THROWS_WITH_AS(autograd::queue_end_of_backward_callback([] {}),
                       doctest::Contains("outside a backward pass"), Error);
}
