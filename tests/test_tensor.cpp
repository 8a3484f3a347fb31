// Tensor basics: creation, metadata, views sharing storage, broadcasting, printing, randomness.
#include "helpers.h"
#include "ops/cpu/philox_lanes.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("tensor: factories give the requested shape, dtype and values") {
  Tensor z = zeros({2, 3}, kFloat64);
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.dtype() == kFloat64);
  CHECK(z.numel() == 6);
  CHECK(z.is_contiguous());
  check_values(z, std::vector<double>(6, 0.0));
  check_values(ones({2}), {1, 1});
  check_values(full({3}, 2.5), {2.5, 2.5, 2.5});
  Tensor r = arange(5);
  CHECK(r.dtype() == kInt64);
  CHECK(r.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 2, 3, 4});
  check_values(arange(1, 2, 0.25, kFloat32), {1, 1.25, 1.5, 1.75});
  CHECK(tensor({1.0, 2.0}).dtype() == kFloat32);
  check_values(from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3}).select(1, 2), {3, 6});
  CHECK_ERROR_CONTAINS(from_vector<double>({1, 2, 3}, {2, 2}), "from_vector", "[2, 2]");
}

TEST_CASE("tensor: item requires exactly one element") {
  CHECK(full({1, 1}, 7.0).item<float>() == 7.0f);
  CHECK_ERROR_CONTAINS(zeros({2}).item<float>(), "item", "[2]");
}

TEST_CASE("tensor: views share storage and see writes") {
  Tensor x = arange(0, 6, 1, kFloat32).reshape({2, 3});
  Tensor t = x.t();
  CHECK(t.shape() == Shape{3, 2});
  CHECK_FALSE(t.is_contiguous());
  CHECK(t.storage() == x.storage());
  check_values(t.contiguous(), {0, 3, 1, 4, 2, 5});
  Tensor row = x.select(0, 1);
  row.fill_(9.0);
  check_values(x, {0, 1, 2, 9, 9, 9});
  Tensor cols = x.slice(1, 0, 3, 2);
  check_values(cols, {0, 2, 9, 9});
  CHECK(x.unsqueeze(0).shape() == Shape{1, 2, 3});
  CHECK(x.unsqueeze(-1).shape() == Shape{2, 3, 1});
  CHECK(x.unsqueeze(1).squeeze(1).shape() == Shape{2, 3});
  Tensor e = tensor({1.0, 2.0}).reshape({2, 1}).expand({2, 3});
  CHECK(e.strides()[1] == 0);
  check_values(e.contiguous(), {1, 1, 1, 2, 2, 2});
  CHECK(x.permute({1, 0}).shape() == Shape{3, 2});
  CHECK(x.narrow(1, 1, 2).shape() == Shape{2, 2});
}

TEST_CASE("tensor: view refuses incompatible strides, reshape copies") {
  Tensor x = arange(0, 6, 1, kFloat32).reshape({2, 3}).t();
  CHECK_ERROR_CONTAINS(x.view({6}), "view", "[3, 2]", "reshape");
  Tensor r = x.reshape({6});
  check_values(r, {0, 3, 1, 4, 2, 5});
  CHECK(x.view({3, 2}).shape() == Shape{3, 2});
  Tensor merged = arange(0, 24, 1, kFloat32).reshape({2, 3, 4}).permute({1, 0, 2}).slice(2, 0, 4);
  CHECK(merged.reshape({3, 8}).shape() == Shape{3, 8});
}

TEST_CASE("tensor: numpy broadcasting") {
  Tensor a = tensor({1.0, 2.0, 3.0}).reshape({3, 1});
  Tensor b = tensor({10.0, 20.0});
  Tensor c = a + b;
  CHECK(c.shape() == Shape{3, 2});
  check_values(c, {11, 21, 12, 22, 13, 23});
  CHECK(broadcast_shapes({5, 1, 4}, {3, 1}, "test") == Shape{5, 3, 4});
}

TEST_CASE("tensor: dtype and contiguous conversions") {
  Tensor x = tensor({1.7, -2.2});
  CHECK(x.to(kInt64).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, -2});
  CHECK(x.to(kFloat64).dtype() == kFloat64);
  Tensor c = x.clone();
  CHECK(c.storage() != x.storage());
}

TEST_CASE("tensor: printing shows values, shape and dtype, truncated when large") {
  std::string s = fmt::format("{}", tensor({1.0, 2.5, -3.0, 4.0}).reshape({2, 2}));
  CHECK(s.find("1.0000") != std::string::npos);
  CHECK(s.find("-3.0000") != std::string::npos);
  CHECK(s.find("shape=[2, 2]") != std::string::npos);
  CHECK(s.find("dtype=float32") != std::string::npos);
  std::string big = fmt::format("{}", zeros({100, 100}));
  CHECK(big.find("...") != std::string::npos);
  CHECK(big.size() < 1000);
  CHECK(fmt::format("{}", arange(3)).find("[0, 1, 2]") != std::string::npos);
}

TEST_CASE("random: seeded, reproducible, with the right statistics") {
  manual_seed(42);
  Tensor a = randn({10000}, kFloat64);
  manual_seed(42);
  Tensor b = randn({10000}, kFloat64);
  CHECK(a.to_vector<double>() == b.to_vector<double>());
  CHECK(mean(a).item<double>() == doctest::Approx(0.0).epsilon(0.05).scale(1));
  CHECK(var(a).item<double>() == doctest::Approx(1.0).epsilon(0.05));
  Tensor u = rand({10000}, kFloat64);
  CHECK(max(u).item<double>() < 1.0);
  CHECK(-max(neg(u)).item<double>() >= 0.0);
  Tensor k = randint(3, 7, {1000});
  CHECK(max(k).item<std::int64_t>() == 6);
  CHECK(-max(neg(k)).item<std::int64_t>() == 3);
  Tensor c = randn({4});  // the stream moved on
  CHECK(c.to_vector<float>() != randn({4}).to_vector<float>());
}

TEST_CASE("random: results do not depend on the thread count") {
  int threads = get_num_threads();
  set_num_threads(1);
  Generator g1(5);
  Tensor a = randn({100000}, kFloat32, &g1);
  set_num_threads(std::max(threads, 2));
  Generator g2(5);
  Tensor b = randn({100000}, kFloat32, &g2);
  set_num_threads(threads);
  CHECK(a.to_vector<float>() == b.to_vector<float>());
}

TEST_CASE("dropout: zeroes about p of the elements and rescales the rest") {
  manual_seed(3);
  Tensor x = ones({100000});
  Tensor y = dropout(x, 0.25, true);
  double kept = mean(ne(y, zeros({}))).item<double>();
  CHECK(kept == doctest::Approx(0.75).epsilon(0.02));
  CHECK(max(y).item<float>() == doctest::Approx(1.0 / 0.75));
  CHECK(dropout(x, 0.25, false).storage() == x.storage());  // identity in eval
}

TEST_CASE("dropout: element i is kept iff word i % 4 of philox(seed, offset + i / 4) is below (1 - p) 2^32") {
  Generator gen(78);
  gen.advance(3);
  const std::int64_t n = 75;  // not a multiple of the kernel's 32-element blocks
  std::vector<double> kept = dropout(ones({n}, kFloat64), 0.3, true, &gen).to_vector<double>();
  CHECK(gen.offset() == 3 + (n + 3) / 4);  // four elements per counter
  for (std::int64_t i = 0; i < n; ++i) {
    const auto w = philox(78, 3 + static_cast<std::uint64_t>(i / 4));
    INFO("element " << i);
    CHECK(kept[i] == (static_cast<double>(w[i % 4]) < 0.7 * 4294967296.0 ? 1.0 / 0.7 : 0.0));
  }
}

TEST_CASE("philox8: eight counters at once equal philox() per counter, across the 32-bit carry") {
  // This file is built without the library's -march=native, so this checks the portable form;
  // the library's AVX2 form is checked through rand and dropout below.
  std::uint32_t w[4][cpu::kPhiloxLanes];
  for (std::uint64_t first : {std::uint64_t{0}, std::uint64_t{0xFFFFFFFCull}, std::uint64_t{1} << 40}) {
    cpu::philox8(0x123456789ABCDEFull, first, w);
    for (int l = 0; l < cpu::kPhiloxLanes; ++l) {
      const auto expected = philox(0x123456789ABCDEFull, first + static_cast<std::uint64_t>(l));
      for (int word = 0; word < 4; ++word) CHECK(w[word][l] == expected[word]);
    }
  }
}

TEST_CASE("random: element i is a function of philox(seed, offset + i) alone") {
  Generator gen(77);
  gen.advance(5);
  Tensor u = rand({21}, kFloat64, &gen);  // not a multiple of the kernel's vector width
  std::vector<double> values = u.to_vector<double>();
  for (std::uint64_t i = 0; i < values.size(); ++i) {
    auto w = philox(77, 5 + i);
    CHECK(values[i] == 1.0 - philox_uniform(w[0], w[1]));
  }
}
