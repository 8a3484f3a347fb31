// Checkpoints of one training run: model, optimizer and scheduler state, the dropout generator's
// state of every rank and the step, in one safetensors file (written atomically, by rank 0), with
// the run's identity in the metadata so that resuming with a different configuration is refused.
// A run on K processes resumes on K processes only (each rank takes back its own dropout stream).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <ember/ember.h>

#include "data.h"

namespace copy_task {

struct TrainingParts {
  ember::nn::Module& model;
  ember::optim::Optimizer& optimizer;
  ember::optim::LRScheduler* scheduler;  // may be null
};

// `identity` names everything that must match for a resume (protocol, sizes, attention, seed...).
// generator_states: every rank's dropout generator (seed, offset), by rank (ranks.h).
void save_checkpoint(const std::string& path, const TrainingParts& parts, std::int64_t step, double elapsed_s,
                     bool finished, const ember::nn::Metadata& identity,
                     const std::vector<std::pair<std::uint64_t, std::uint64_t>>& generator_states);

struct LoadedCheckpoint {
  std::int64_t step = 0;
  double elapsed_s = 0;  // training seconds before the checkpoint
  bool finished = false;
};

// Restores everything save_checkpoint wrote. BadInput (exit_codes.h) names the file and what is
// wrong: a corrupt file, another run's checkpoint, missing or mis-shaped entries, a step outside
// [0, max_step], a negative or non-finite elapsed time, a different number of processes. `rank`
// says which rank's generator state to restore.
LoadedCheckpoint load_checkpoint(const std::string& path, const TrainingParts& parts,
                                 const ember::nn::Metadata& identity, std::int64_t max_step, Shard rank);

}  // namespace copy_task
