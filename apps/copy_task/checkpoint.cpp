// Checkpoint files of the copy task (see checkpoint.h). Keys are prefixed by owner: "model.",
// "optim.", "sched."; plus "rng.seed", "rng.offset" and "step" (0-d int64) and "elapsed_s".
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
                     bool finished, const nn::Metadata& identity) {
  nn::StateDict state = with_prefix(parts.model.state_dict(), "model.");
  state.merge(with_prefix(parts.optimizer.state_dict(), "optim."));
  if (parts.scheduler) state.merge(with_prefix(parts.scheduler->state_dict(), "sched."));
  const Generator& gen = default_generator();
  // Philox seeds and offsets are uint64; stored bit for bit in int64 tensors.
  state["rng.seed"] = from_vector<std::int64_t>({std::bit_cast<std::int64_t>(gen.seed())}, {});
  state["rng.offset"] = from_vector<std::int64_t>({std::bit_cast<std::int64_t>(gen.offset())}, {});
  state["step"] = scalar(step);
  state["elapsed_s"] = full({}, elapsed_s, kFloat64);
  nn::Metadata metadata = identity;
  metadata["finished"] = finished ? "true" : "false";
  nn::save_safetensors(state, path, metadata);
}

LoadedCheckpoint load_checkpoint(const std::string& path, const TrainingParts& parts, const nn::Metadata& identity,
                                 std::int64_t max_step) {
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
  const std::int64_t step = read_scalar(state, "step", path);
  if (step < 0 || step > max_step)
    bad_input("checkpoint {}: step {} is outside this run's [0, {}]", path, step, max_step);
  auto elapsed = state.find("elapsed_s");
  if (elapsed == state.end() || elapsed->second.numel() != 1 || !is_floating(elapsed->second.dtype()))
    bad_input("checkpoint {}: missing or malformed entry 'elapsed_s'", path);
  const double elapsed_s = elapsed->second.item<double>();
  if (!std::isfinite(elapsed_s) || elapsed_s < 0)
    bad_input("checkpoint {}: elapsed_s {} is not a time", path, elapsed_s);
  const auto rng_seed = std::bit_cast<std::uint64_t>(read_scalar(state, "rng.seed", path));
  const auto rng_offset = std::bit_cast<std::uint64_t>(read_scalar(state, "rng.offset", path));
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
