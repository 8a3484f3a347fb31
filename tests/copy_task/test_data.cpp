// The paper protocol's batches against the authors' causal-copy/main.py, written out by hand:
// the copied length range, the [s, 0, s, 0...] layout without a leading separator, the padding
// to a fixed length, and the loss mask (targets n-1 .. 2n-1: the first separator and the copy).
// Also the seed notebook's layout (LinTrans.jl): [11, s, 12], scored from its second token on.
#include <doctest/doctest.h>

#include <vector>

#include "copy_task/data.h"

using namespace ember;
using namespace copy_task;

namespace {

using Row = std::vector<std::int64_t>;

Row row(const Tensor& t, std::int64_t b) { return t.select(0, b).contiguous().to_vector<std::int64_t>(); }

// 1 where the target is scored, 0 where it is kIgnore.
Row mask_of(const Row& targets) {
  Row mask;
  for (std::int64_t y : targets) mask.push_back(y == kIgnore ? 0 : 1);
  return mask;
}

}  // namespace

TEST_CASE("copy task: paper layout ranges follow torch.randint(L // 4, (L - 1) // 2)") {
  const PaperLayout full = paper_layout(128);
  CHECK(full.min_n == 32);
  CHECK(full.max_n == 62);
  const PaperLayout small = paper_layout(24);
  CHECK(small.min_n == 6);
  CHECK(small.max_n == 10);
  CHECK(paper_layout(7).max_n == 2);  // randint(1, 3)
  CHECK(paper_layout(3).min_n == 1);  // the authors' range is empty; n is 1
  CHECK(paper_layout(3).max_n == 1);
}

TEST_CASE("copy task: a paper batch with n = 3 in length 10, token by token") {
  LmBatch batch = make_lm_batch(/*seed=*/5, /*index=*/2, /*batch=*/2, /*seq_len=*/10, /*fixed_n=*/3);
  REQUIRE(batch.inputs.shape() == Shape{2, 10});
  REQUIRE(batch.targets.shape() == Shape{2, 10});
  CHECK(batch.scored == 2 * 4);
  for (std::int64_t b = 0; b < 2; ++b) {
    const Row x = row(batch.inputs, b), y = row(batch.targets, b);
    const std::int64_t s1 = x[0], s2 = x[1], s3 = x[2];
    for (std::int64_t s : {s1, s2, s3}) CHECK((s >= 1 && s <= kSymbols));
    CHECK(x == Row{s1, s2, s3, 0, s1, s2, s3, 0, 0, 0});
    const std::int64_t I = kIgnore;
    CHECK(y == Row{I, I, 0, s1, s2, s3, I, I, I, I});
    CHECK(mask_of(y) == Row{0, 0, 1, 1, 1, 1, 0, 0, 0, 0});
  }
}

TEST_CASE("copy task: full-scale paper batches are 128 tokens with n in 32..62") {
  LmBatch batch = make_lm_batch(/*seed=*/1, /*index=*/0, /*batch=*/64, /*seq_len=*/128);
  REQUIRE(batch.inputs.shape() == Shape{64, 128});
  std::int64_t scored = 0, shortest = 128, longest = 0;
  for (std::int64_t b = 0; b < 64; ++b) {
    const Row x = row(batch.inputs, b), y = row(batch.targets, b);
    // n is where the first 0 is: symbols are never 0.
    std::int64_t n = 0;
    while (x[n] != 0) ++n;
    CHECK(n >= 32);
    CHECK(n <= 62);
    shortest = std::min(shortest, n);
    longest = std::max(longest, n);
    for (std::int64_t t = 0; t < 128; ++t) {
      if (t < n) CHECK(x[n + 1 + t] == x[t]);                  // the copy
      if (t == n || t > 2 * n) CHECK(x[t] == 0);                 // separator, then padding
      const bool scored_here = t >= n - 1 && t <= 2 * n - 1;    // main.py: mask[n-1:2n] = 1
      CHECK(y[t] == (scored_here ? x[t + 1] : kIgnore));
      scored += scored_here;
    }
  }
  CHECK(scored == batch.scored);
  CHECK(shortest < longest);  // n is drawn per sequence
}

TEST_CASE("copy task: a notebook batch of N = 6 tokens copies 4 symbols between start 11 and end 12") {
  NotebookBatch batch = make_notebook_batch(/*seed=*/3, /*index=*/7, /*batch=*/2, /*n=*/6);
  REQUIRE(batch.tokens.shape() == Shape{2, 6});
  REQUIRE(batch.targets.shape() == Shape{2, 5});
  for (std::int64_t b = 0; b < 2; ++b) {
    const Row x = row(batch.tokens, b), y = row(batch.targets, b);
    const std::int64_t s1 = x[1], s2 = x[2], s3 = x[3], s4 = x[4];
    for (std::int64_t s : {s1, s2, s3, s4}) CHECK((s >= 1 && s <= kSymbols));
    // The encoder and the decoder both read x; decoder output t (0-based, t = 0..4) is scored
    // against y[t] = x[t + 1]: LinTrans.jl's label[2:end] against probs[1:end-1].
    CHECK(x == Row{11, s1, s2, s3, s4, 12});
    CHECK(y == Row{s1, s2, s3, s4, 12});
  }
  // Deterministic in (seed, index): the same batch again, another one at the next index.
  CHECK(row(make_notebook_batch(3, 7, 2, 6).tokens, 1) == row(batch.tokens, 1));
  CHECK(row(make_notebook_batch(3, 8, 8, 64).tokens, 0) != row(make_notebook_batch(3, 7, 8, 64).tokens, 0));
  CHECK_THROWS(make_notebook_batch(3, 0, 2, 2));  // no room for a symbol
}
