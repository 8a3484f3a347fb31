// Checkpoint files of the copy task (see checkpoint.h). Keys are prefixed by owner: "model.",
// "optim.", "sched."; plus "rng.seed", "rng.offset" (rank 0's generator) and "step" (0-d int64),
// "elapsed_s", "ranks" (0-d int64; absent in files from before distributed runs: 1) and, for more
// than one rank, "rng.rank_states" ((ranks, 2) int64: every rank's seed and offset).
#include "checkpoint.h"

#include <bit>
#include <cmath>

#include "exit_codes.h"

using namespace ember;

namespace copy_task {

namespace {

nn::StateDict with_prefix(const nn::StateDict& state, const std::string& prefix) {
  nn::StateDict out;
  for (const auto& [name, t] : state) out[prefix + name] = t;
  return out;
}

nn::StateDict take_prefix(const nn::StateDict& state, const std::string& prefix) {
  nn::StateDict out;
  for (const auto& [name, t] : state)
    if (name.rfind(prefix, 0) == 0) out[name.substr(prefix.size())] = t;
  return out;
}

Tensor scalar(std::int64_t value) { return full({}, static_cast<double>(value), kInt64); }

std::int64_t read_scalar(const nn::StateDict& state, const std::string& name, const std::string& path) {
  auto it = state.find(name);
  if (it == state.end() || it->second.numel() != 1 || it->second.dtype() != kInt64)
    bad_input("checkpoint {}: missing or malformed entry '{}'", path, name);
  return it->second.item<std::int64_t>();
}

}  // namespace

void save_checkpoint(const std::string& path, const TrainingParts& parts, std::int64_t step, double elapsed_s,
                     bool finished, const nn::Metadata& identity,
                     const std::vector<std::pair<std::uint64_t, std::uint64_t>>& generator_states) {
  nn::StateDict state = with_prefix(parts.model.state_dict(), "model.");
  state.merge(with_prefix(parts.optimizer.state_dict(), "optim."));
  if (parts.scheduler) state.merge(with_prefix(parts.scheduler->state_dict(), "sched."));
  // Philox seeds and offsets are uint64; stored bit for bit in int64 tensors.
  const auto [seed0, offset0] = generator_states.front();
  state["rng.seed"] = from_vector<std::int64_t>({std::bit_cast<std::int64_t>(seed0)}, {});
  state["rng.offset"] = from_vector<std::int64_t>({std::bit_cast<std::int64_t>(offset0)}, {});
  const auto ranks = static_cast<std::int64_t>(generator_states.size());
  state["ranks"] = scalar(ranks);
  if (ranks > 1) {
    std::vector<std::int64_t> states;
    for (const auto& [seed, offset] : generator_states) {
      states.push_back(std::bit_cast<std::int64_t>(seed));
      states.push_back(std::bit_cast<std::int64_t>(offset));
    }
    state["rng.rank_states"] = from_vector<std::int64_t>(states, {ranks, 2});
  }
  state["step"] = scalar(step);
  state["elapsed_s"] = full({}, elapsed_s, kFloat64);
  nn::Metadata metadata = identity;
  metadata["finished"] = finished ? "true" : "false";
  nn::save_safetensors(state, path, metadata);
}

LoadedCheckpoint load_checkpoint(const std::string& path, const TrainingParts& parts, const nn::Metadata& identity,
                                 std::int64_t max_step, Shard rank) {
  nn::Metadata metadata;
  nn::StateDict state;
  try {
    state = nn::load_safetensors(path, &metadata);
  } catch (const Error& e) {
    bad_input("{}", e.what());  // names the file and what is wrong with it
  }
  for (const auto& [key, value] : identity) {
    auto it = metadata.find(key);
    if (it == metadata.end() || it->second != value)
      bad_input("checkpoint {} belongs to another run: {} is '{}' there but '{}' here", path, key,
                it == metadata.end() ? "(missing)" : it->second, value);
  }
  // Everything is checked before anything is restored.
  const std::int64_t written_by = state.count("ranks") ? read_scalar(state, "ranks", path) : 1;
  if (written_by != rank.count)
    bad_input("checkpoint {} was written by a run on {} process{}, this run has {}: resume it with the same "
              "number of processes (mpirun -np {})",
              path, written_by, written_by == 1 ? "" : "es", rank.count, written_by);
  const std::int64_t step = read_scalar(state, "step", path);
  if (step < 0 || step > max_step)
    bad_input("checkpoint {}: step {} is outside this run's [0, {}]", path, step, max_step);
  auto elapsed = state.find("elapsed_s");
  if (elapsed == state.end() || elapsed->second.numel() != 1 || !is_floating(elapsed->second.dtype()))
    bad_input("checkpoint {}: missing or malformed entry 'elapsed_s'", path);
  const double elapsed_s = elapsed->second.item<double>();
  if (!std::isfinite(elapsed_s) || elapsed_s < 0)
    bad_input("checkpoint {}: elapsed_s {} is not a time", path, elapsed_s);
  auto rng_seed = std::bit_cast<std::uint64_t>(read_scalar(state, "rng.seed", path));
  auto rng_offset = std::bit_cast<std::uint64_t>(read_scalar(state, "rng.offset", path));
  if (rank.count > 1) {
    auto states = state.find("rng.rank_states");
    if (states == state.end() || states->second.dtype() != kInt64 || states->second.shape() != Shape{rank.count, 2})
      bad_input("checkpoint {}: missing or malformed entry 'rng.rank_states'", path);
    const std::vector<std::int64_t> values = states->second.to_vector<std::int64_t>();
    rng_seed = std::bit_cast<std::uint64_t>(values[static_cast<std::size_t>(2 * rank.index)]);
    rng_offset = std::bit_cast<std::uint64_t>(values[static_cast<std::size_t>(2 * rank.index + 1)]);
  }
  try {
    parts.model.load_state_dict(take_prefix(state, "model."));
    parts.optimizer.load_state_dict(take_prefix(state, "optim."));
    if (parts.scheduler) parts.scheduler->load_state_dict(take_prefix(state, "sched."));
  } catch (const Error& e) {
    bad_input("checkpoint {}: {}", path, e.what());
  }
  default_generator().set_state(rng_seed, rng_offset);
  return {step, elapsed_s, metadata["finished"] == "true"};
}

}  // namespace copy_task
