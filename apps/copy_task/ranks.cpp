// The copy task's ranks (ranks.h) over ember::dist, or a single process without distributed/.
#include "ranks.h"

#include <bit>
#include <cstdio>
#include <cstdlib>

#ifdef EMBER_WITH_DISTRIBUTED
#include "distributed/distributed.h"
#endif

using namespace ember;

namespace copy_task {

#ifdef EMBER_WITH_DISTRIBUTED

void start_ranks() { dist::init(); }
void end_ranks() { dist::finalize(); }
int rank() { return dist::is_initialized() ? dist::rank() : 0; }
int ranks() { return dist::is_initialized() ? dist::world_size() : 1; }
void abort_job(std::string_view message, int exit_code) { dist::abort(message, exit_code); }

std::vector<double> average_over_ranks(std::vector<double> values) {
  if (ranks() == 1) return values;
  Tensor t = from_vector<double>(values);
  dist::all_reduce(t, dist::ReduceOp::Avg);
  return t.to_vector<double>();
}

bool on_any_rank(bool flag) {
  if (ranks() == 1) return flag;
  Tensor t = from_vector<std::int64_t>({flag ? 1 : 0});
  dist::all_reduce(t, dist::ReduceOp::Max);
  return t.item<std::int64_t>() != 0;
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> gather_generator_states() {
  const Generator& gen = default_generator();
  Tensor mine = from_vector<std::int64_t>({std::bit_cast<std::int64_t>(gen.seed()),
                                           std::bit_cast<std::int64_t>(gen.offset())});
  const std::vector<std::int64_t> all = ranks() == 1 ? mine.to_vector<std::int64_t>()
                                                     : dist::all_gather(mine).to_vector<std::int64_t>();  // (K, 2)
  std::vector<std::pair<std::uint64_t, std::uint64_t>> states;
  for (std::size_t r = 0; r < all.size(); r += 2)
    states.emplace_back(std::bit_cast<std::uint64_t>(all[r]), std::bit_cast<std::uint64_t>(all[r + 1]));
  return states;
}

struct GradientAveraging::Impl {
  explicit Impl(nn::Module& model) : ddp(model) {}
  dist::DistributedDataParallel ddp;
};

GradientAveraging::GradientAveraging(nn::Module& model) {
  if (ranks() > 1) impl_ = std::make_unique<Impl>(model);
}

#else  // a single process

void start_ranks() {}
void end_ranks() {}
int rank() { return 0; }
int ranks() { return 1; }
void abort_job(std::string_view message, int exit_code) {
  std::fprintf(stderr, "%.*s\n", static_cast<int>(message.size()), message.data());
  std::exit(exit_code);
}
std::vector<double> average_over_ranks(std::vector<double> values) { return values; }
bool on_any_rank(bool flag) { return flag; }
std::vector<std::pair<std::uint64_t, std::uint64_t>> gather_generator_states() {
  const Generator& gen = default_generator();
  return {{gen.seed(), gen.offset()}};
}
struct GradientAveraging::Impl {};
GradientAveraging::GradientAveraging(nn::Module&) {}

#endif

GradientAveraging::~GradientAveraging() = default;

}  // namespace copy_task
