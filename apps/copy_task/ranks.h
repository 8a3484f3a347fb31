// The copy task on several processes (`mpirun -np K copy_task ...`): the ranks, what they must
// agree on, and the gradient averaging, through ember::dist (distributed/). In a build without
// distributed/ (no MPI) every function answers for a single process.
//
// Each rank trains on its shard of every global batch (data.h) and a DistributedDataParallel
// averages the gradients, so the ranks step identically. Rank 0 alone writes files and prints;
// the other ranks only train, then wait in finalize for rank 0's evaluation and report.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include <ember/ember.h>

#include "data.h"

namespace copy_task {

// Joins the job when a launcher started this process (dist::init); a no-op otherwise.
void start_ranks();
void end_ranks();
int rank();
int ranks();
inline bool is_main_rank() { return rank() == 0; }
inline Shard my_shard() { return {rank(), ranks()}; }
// Ends every rank with the message (the whole job stops, none waits for a dead peer).
[[noreturn]] void abort_job(std::string_view message, int exit_code);

// The element-wise average of `values` over the ranks.
std::vector<double> average_over_ranks(std::vector<double> values);
// True on every rank when `flag` is true on any (a stop request must stop them all at one step).
bool on_any_rank(bool flag);
// Every rank's default-generator state (seed, offset), by rank.
std::vector<std::pair<std::uint64_t, std::uint64_t>> gather_generator_states();

// Gradient averaging over the ranks for one model (nothing at world size 1).
class GradientAveraging {
 public:
  explicit GradientAveraging(ember::nn::Module& model);
  ~GradientAveraging();
  GradientAveraging(const GradientAveraging&) = delete;
  GradientAveraging& operator=(const GradientAveraging&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace copy_task
