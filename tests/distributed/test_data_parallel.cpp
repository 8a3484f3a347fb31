// DistributedDataParallel against one process on the whole global batch: the gradients agree
// (float64 to 1e-12, float32 to 1e-6), with several buckets, with no_sync() accumulation, and 20
// optimizer steps leave the ranks' parameters bit-identical. Also the bucket plan and the error for
// ranks whose models differ.
#include <cmath>
#include <memory>

#include "support.h"

using namespace ember;
using namespace ember::testing;

namespace {

// (B, 6) -> tanh(Linear) -> (B, 3)
struct SmallNet : nn::UnaryModule {
  explicit SmallNet(std::int64_t hidden = 8) {
    first = register_module("first", std::make_shared<nn::Linear>(6, hidden));
    second = register_module("second", std::make_shared<nn::Linear>(hidden, 3));
  }
  Tensor forward(const Tensor& x) override { return (*second)(tanh((*first)(x))); }
  std::shared_ptr<nn::Linear> first, second;
};

std::shared_ptr<SmallNet> make_net(DType dtype) {
  auto net = std::make_shared<SmallNet>();
  net->to(dtype);
  return net;
}

Tensor mse(const Tensor& prediction, const Tensor& target) {
  Tensor diff = prediction - target;
  return (diff * diff).mean();
}

// The global batch of step `step`: the same on every rank, whatever the world size.
struct Batch {
  Tensor x, y;  // (B, 6), (B, 3)
};
Batch global_batch(int step, DType dtype, std::int64_t B = 8) {
  manual_seed(1000 + static_cast<std::uint64_t>(step));
  return {randn({B, 6}, kFloat64).to(dtype), randn({B, 3}, kFloat64).to(dtype)};
}

// This rank's rows of the global batch.
Batch my_slice(const Batch& batch) {
  const std::int64_t per_rank = batch.x.size(0) / dist::world_size();
  const std::int64_t start = dist::rank() * per_rank;
  return {batch.x.narrow(0, start, per_rank), batch.y.narrow(0, start, per_rank)};
}

// A copy of `net` (its values as broadcast), trained on one process.
std::shared_ptr<SmallNet> reference_copy(const SmallNet& net, DType dtype) {
  auto copy = make_net(dtype);
  copy->load_state_dict(net.state_dict());
  return copy;
}

double max_difference(const Tensor& a, const Tensor& b) {
  return max(abs(a.to(kFloat64) - b.to(kFloat64))).item<double>();
}

void check_gradients_match(const SmallNet& ddp_net, const SmallNet& reference, double tolerance) {
  const auto got = ddp_net.parameters(), expected = reference.parameters();
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    REQUIRE(got[i].grad().defined());
    CHECK(max_difference(got[i].grad(), expected[i].grad()) <= tolerance);
  }
}

}  // namespace

TEST_CASE("distributed: buckets fill in reverse registration order and close at the size limit") {
  std::vector<Tensor> params = {zeros({10}), zeros({10}), zeros({30}), zeros({4}, kFloat64), zeros({5}, kFloat64)};
  auto plans = dist::plan_buckets(params, 80);  // 80 bytes: 20 float32
  REQUIRE(plans.size() == 3);
  CHECK(plans[0].dtype == kFloat64);  // parameters 4, 3 (72 bytes)
  CHECK(plans[0].slots.size() == 2);
  CHECK(plans[0].slots[0].parameter == 4);
  CHECK(plans[0].slots[1].offset == 5);
  CHECK(plans[1].slots.size() == 1);  // parameter 2 alone (120 bytes)
  CHECK(plans[1].numel == 30);
  CHECK(plans[2].slots.size() == 2);  // parameters 1, 0
  CHECK(plans[2].slots[1].parameter == 0);
  CHECK_THROWS_WITH_AS(dist::plan_buckets(params, 0), doctest::Contains("bucket_bytes must be positive"), Error);
}

TEST_CASE("distributed: DDP gradients equal one process's on the same global batch") {
  for (DType dtype : {kFloat64, kFloat32}) {
    CAPTURE(dtype);
    manual_seed(7 + static_cast<std::uint64_t>(dist::rank()));  // different on purpose: DDP broadcasts rank 0's
    auto net = make_net(dtype);
    dist::DistributedDataParallel ddp(*net, {.bucket_bytes = 64});
    CHECK(ddp.buckets().size() > 1);
    auto reference = reference_copy(*net, dtype);
    const double tolerance = dtype == kFloat64 ? 1e-12 : 1e-6;

    const Batch batch = global_batch(0, dtype), mine = my_slice(batch);
    mse((*net)(mine.x), mine.y).backward();  // averaged when backward returns
    mse((*reference)(batch.x), batch.y).backward();
    check_gradients_match(*net, *reference, tolerance);

    // Accumulation: two micro-batches, the first under no_sync.
    net->zero_grad();
    reference->zero_grad();
    {
      auto no_sync = ddp.no_sync();
      const Batch first = global_batch(1, dtype);
      mse((*net)(my_slice(first).x), my_slice(first).y).backward();
      mse((*reference)(first.x), first.y).backward();
    }
    const Batch second = global_batch(2, dtype);
    mse((*net)(my_slice(second).x), my_slice(second).y).backward();
    mse((*reference)(second.x), second.y).backward();
    check_gradients_match(*net, *reference, tolerance);
    CHECK(ddp.last_sync().bytes == net->num_parameters() * static_cast<std::int64_t>(element_size(dtype)));
  }
}

TEST_CASE("distributed: after 20 DDP steps the parameters are bit-identical on every rank") {
  manual_seed(11 + static_cast<std::uint64_t>(dist::rank()));
  auto net = make_net(kFloat32);
  dist::DistributedDataParallel ddp(*net, {.bucket_bytes = 128});
  optim::Adam optimizer(net->parameters(), {.lr = 1e-2});
  for (int step = 0; step < 20; ++step) {
    optimizer.zero_grad();
    const Batch mine = my_slice(global_batch(step, kFloat32));
    mse((*net)(mine.x), mine.y).backward();
    optimizer.step();
  }
  for (const Tensor& p : net->parameters()) {
    const Tensor all = dist::all_gather(p);  // (W, ...p.shape)
    for (int r = 1; r < dist::world_size(); ++r) CHECK(max_difference(all.select(0, r), all.select(0, 0)) == 0.0);
  }
}

TEST_CASE("distributed: DDP refuses ranks whose models differ, naming the parameter and both shapes") {
  if (dist::world_size() < 2) {
    MESSAGE("needs 2 ranks");
    return;
  }
  auto net = std::make_shared<SmallNet>(dist::rank() == 1 ? 9 : 8);
  const std::string message = error_message([&] { dist::DistributedDataParallel ddp(*net); });
  CHECK_MESSAGE(contains(message, "parameter 0"), message);
  CHECK_MESSAGE(contains(message, "float32 [9, 6] on cpu on rank 1"), message);
  CHECK_MESSAGE(contains(message, "float32 [8, 6] on cpu on rank 0"), message);
}
