// Every collective on CPU tensors of every dtype against results computed by hand from
// rank_value(r, i), at whatever world size the binary runs (2 under mpirun in CI, 1 alone).
#include <algorithm>

#include "support.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("distributed: rank, world size and local rank") {
  CHECK(dist::world_size() >= 1);
  CHECK(dist::rank() >= 0);
  CHECK(dist::rank() < dist::world_size());
  CHECK(dist::local_rank() == dist::rank());  // every rank on this machine
  dist::barrier();
}

TEST_CASE("distributed: all_reduce sum, avg and max for every dtype") {
  const int W = dist::world_size();
  const std::int64_t n = 11;
  for (DType dtype : kEveryDType) {
    CAPTURE(dtype);
    Tensor sum = rank_tensor(dist::rank(), n, dtype);
    Tensor max = rank_tensor(dist::rank(), n, dtype);
    dist::all_reduce(sum, dist::ReduceOp::Sum);
    dist::all_reduce(max, dist::ReduceOp::Max);
    CHECK(sum.dtype() == dtype);
    const std::vector<double> got_sum = values_of(sum), got_max = values_of(max);
    for (std::int64_t i = 0; i < n; ++i) {
      double expected = 0;
      for (int r = 0; r < W; ++r) expected += rank_value(r, i);
      CHECK(got_sum[i] == expected);
      CHECK(got_max[i] == rank_value(W - 1, i));
    }
    if (dtype == kInt64) {
      const std::string message = error_message([&] { dist::all_reduce(sum, dist::ReduceOp::Avg); });
      CHECK_MESSAGE(contains(message, "dist::all_reduce (rank"), message);
      CHECK_MESSAGE(contains(message, "needs a floating dtype"), message);
      continue;
    }
    Tensor avg = rank_tensor(dist::rank(), n, dtype);
    dist::all_reduce(avg, dist::ReduceOp::Avg);
    const std::vector<double> got_avg = values_of(avg);
    for (std::int64_t i = 0; i < n; ++i) {
      double total = 0;
      for (int r = 0; r < W; ++r) total += rank_value(r, i);
      CHECK(got_avg[i] == doctest::Approx(total / W).epsilon(dtype == kBFloat16 ? 1e-2 : 1e-12));
    }
  }
}

TEST_CASE("distributed: all_reduce and broadcast write through non-contiguous views") {
  const int W = dist::world_size();
  Tensor base = rank_tensor(dist::rank(), 12, kFloat64).view({3, 4});
  Tensor column = base.select(1, 2);  // (3,) with stride 4
  dist::all_reduce(column, dist::ReduceOp::Sum);
  const std::vector<double> values = values_of(base);
  for (std::int64_t i = 0; i < 12; ++i) {
    double expected = rank_value(dist::rank(), i);
    if (i % 4 == 2) {
      expected = 0;
      for (int r = 0; r < W; ++r) expected += rank_value(r, i);
    }
    CHECK(values[i] == expected);
  }
  Tensor t = rank_tensor(dist::rank(), 6, kFloat32).view({2, 3}).t();  // (3, 2), transposed
  dist::broadcast(t, 0);
  CHECK(values_of(t.contiguous()) == values_of(rank_tensor(0, 6, kFloat32).view({2, 3}).t().contiguous()));
}

TEST_CASE("distributed: broadcast from the last rank for every dtype") {
  const int root = dist::world_size() - 1;
  for (DType dtype : kEveryDType) {
    CAPTURE(dtype);
    Tensor t = rank_tensor(dist::rank(), 9, dtype);
    dist::broadcast(t, root);
    CHECK(values_of(t) == values_of(rank_tensor(root, 9, dtype)));
  }
  Tensor t = zeros({2});
  CHECK_THROWS_WITH_AS(dist::broadcast(t, dist::world_size()), doctest::Contains("is not a rank"), Error);
}

TEST_CASE("distributed: all_gather stacks every rank's tensor by rank, for every dtype") {
  const int W = dist::world_size();
  for (DType dtype : kEveryDType) {
    CAPTURE(dtype);
    Tensor mine = rank_tensor(dist::rank(), 6, dtype).view({2, 3});
    Tensor gathered = dist::all_gather(mine);
    REQUIRE(gathered.shape() == Shape{W, 2, 3});
    CHECK(gathered.dtype() == dtype);
    for (int r = 0; r < W; ++r) CHECK(values_of(gathered.select(0, r)) == values_of(rank_tensor(r, 6, dtype)));
  }
}

TEST_CASE("distributed: reduce_scatter gives rank r the reduction of block r, for every dtype") {
  const int W = dist::world_size();
  const std::int64_t k = 2, m = 3;  // input (W * k, m), output (k, m)
  for (DType dtype : kEveryDType) {
    for (dist::ReduceOp op : {dist::ReduceOp::Sum, dist::ReduceOp::Max, dist::ReduceOp::Avg}) {
      if (dtype == kInt64 && op == dist::ReduceOp::Avg) continue;
      CAPTURE(dtype);
      CAPTURE(dist::reduce_op_name(op));
      Tensor input = rank_tensor(dist::rank(), W * k * m, dtype).view({W * k, m});
      Tensor output = dist::reduce_scatter(input, op);
      REQUIRE(output.shape() == Shape{k, m});
      const std::vector<double> got = values_of(output);
      for (std::int64_t j = 0; j < k * m; ++j) {
        const std::int64_t i = dist::rank() * k * m + j;  // the element of the input this one reduces
        double sum = 0, max = 0;
        for (int r = 0; r < W; ++r) {
          sum += rank_value(r, i);
          max = std::max(max, rank_value(r, i));
        }
        const double expected = op == dist::ReduceOp::Sum ? sum : op == dist::ReduceOp::Max ? max : sum / W;
        CHECK(got[j] == doctest::Approx(expected).epsilon(dtype == kBFloat16 ? 1e-2 : 1e-12));
      }
    }
  }
  if (W > 1) {
    const std::string message = error_message([&] { dist::reduce_scatter(zeros({W * 2 + 1}), dist::ReduceOp::Sum); });
    CHECK_MESSAGE(contains(message, "dist::reduce_scatter (rank"), message);
    CHECK_MESSAGE(contains(message, "multiple of the world size"), message);
  }
}

TEST_CASE("distributed: asynchronous collectives complete in any wait order") {
  const int W = dist::world_size();
  Tensor a = full({1000}, 1.0, kFloat64), b = full({10}, 2.0, kFloat32);
  dist::Work first = dist::all_reduce_async(a, dist::ReduceOp::Sum);
  dist::Work second = dist::all_gather_async(b);
  Tensor gathered = second.wait();
  first.wait();
  CHECK(first.is_completed());
  CHECK(first.wait().storage() == a.storage());  // waiting twice returns the same result
  CHECK(values_of(a) == std::vector<double>(1000, W));
  CHECK(gathered.shape() == Shape{W, 10});
}

TEST_CASE("distributed: a collective on a CUDA tensor is dispatched to NCCL, or says it cannot be") {
  if (!cuda_is_available()) {
    MESSAGE("EMBER-SKIPPED: " << cuda_unavailable_reason());
    return;
  }
  Tensor t = full({8}, 1.0, TensorOptions(kFloat32, Device(DeviceType::CUDA, dist::local_rank())));
  dist::all_reduce(t, dist::ReduceOp::Sum);
  CHECK(values_of(t.to(kCPU)) == std::vector<double>(8, dist::world_size()));
}
