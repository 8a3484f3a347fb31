// GenerationState: preparing, advancing, cloning, saving and loading (see nn/generation_state.h).
#include "nn/generation_state.h"

#include <array>
#include <charconv>
#include <limits>
#include <utility>

#include "core/factory.h"
#include "nn/serialize.h"
#include "nn/step_model.h"

namespace ember::nn {

namespace {

constexpr const char* kFormat = "ember-generation-state";
constexpr const char* kVersion = "1";
constexpr std::int64_t kMostPositions = std::int64_t{1} << 40;  // far past any real sequence, far from overflow

Tensor clone_if_defined(const Tensor& t) { return t.defined() ? t.clone() : Tensor{}; }

// A cache's tensors under the names save() gives them.
template <typename Cache>
std::array<std::pair<const char*, decltype(&std::declval<Cache&>().keys)>, 5> cache_tensors(Cache& cache) {
  return {{{"keys", &cache.keys}, {"values", &cache.values}, {"state", &cache.state},
           {"normalizer", &cache.normalizer}, {"key_offset", &cache.key_offset}}};
}

std::string cache_key(std::size_t i, const char* field) { return "cache." + std::to_string(i) + "." + field; }

// A whole number in [0, most] from the metadata.
std::int64_t parse_count(const Metadata& metadata, const std::string& key, const std::string& path,
                         std::int64_t most = std::numeric_limits<std::int64_t>::max()) {
  const auto found = metadata.find(key);
  EMBER_CHECK(found != metadata.end(), "GenerationState::load: {}: no \"{}\" in the metadata", path, key);
  const std::string& text = found->second;
  std::int64_t value = -1;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  EMBER_CHECK(error == std::errc() && end == text.data() + text.size() && value >= 0 && value <= most,
              "GenerationState::load: {}: metadata \"{}\" is \"{}\", not a whole number in [0, {}]", path, key, text,
              most);
  return value;
}

// Removes `name` from `tensors` and returns it (undefined when absent).
Tensor take(StateDict& tensors, const std::string& name) {
  auto found = tensors.find(name);
  if (found == tensors.end()) return {};
  Tensor t = found->second;
  tensors.erase(found);
  return t;
}

std::vector<std::int64_t> take_int64s(StateDict& tensors, const std::string& name, std::int64_t batch,
                                      const std::string& path) {
  Tensor t = take(tensors, name);
  EMBER_CHECK(t.defined() && t.dtype() == kInt64 && t.shape() == Shape{batch},
              "GenerationState::load: {}: \"{}\" must be int64 of shape [{}], got {} {}", path, name, batch,
              t.defined() ? t.dtype() : kInt64, t.defined() ? t.shape() : Shape{});
  return t.to_vector<std::int64_t>();
}

void check_batch(const Tensor& t, std::int64_t batch, int dims, const std::string& name, const std::string& path) {
  if (!t.defined()) return;
  EMBER_CHECK(t.dim() == dims && t.size(0) == batch && t.dtype() != kInt64,
              "GenerationState::load: {}: \"{}\" must be a floating {}-D tensor of batch {}, got {} {}", path, name,
              dims, batch, t.dtype(), t.shape());
}

}  // namespace

void GenerationState::prepare(std::int64_t batch, std::size_t cache_count, const char* who) {
  EMBER_CHECK(!damaged,
              "{}: an earlier step failed part-way through this state's layers, so its caches disagree; start a "
              "new state or load a saved one",
              who);
  if (empty()) {
    lengths.assign(static_cast<std::size_t>(batch), 0);
    finished.assign(static_cast<std::size_t>(batch), false);
    if (caches.empty()) caches.resize(cache_count);
  }
  EMBER_CHECK(batch_size() == batch && caches.size() == cache_count,
              "{}: the state holds {} sequences and {} caches, this model and input need {} and {}", who,
              batch_size(), caches.size(), batch, cache_count);
}

void GenerationState::advance() {
  for (std::int64_t& length : lengths) length += 1;
}

GenerationState GenerationState::clone() const {
  GenerationState copy;
  for (const AttentionCache& cache : caches) {
    AttentionCache& c = copy.caches.emplace_back();
    const auto from = cache_tensors(cache);
    const auto to = cache_tensors(c);
    for (std::size_t f = 0; f < from.size(); ++f) *to[f].second = clone_if_defined(*from[f].second);
    c.length = cache.length;
    c.sequence_lengths = cache.sequence_lengths;
    c.memory_ready = cache.memory_ready;
  }
  copy.lengths = lengths;
  copy.next_logits = clone_if_defined(next_logits);
  copy.finished = finished;
  copy.damaged = damaged;
  for (const auto& [name, t] : context) copy.context[name] = clone_if_defined(t);
  return copy;
}

void GenerationState::save(const std::string& path) const {
  EMBER_CHECK(!damaged, "GenerationState::save: {}: an earlier step failed part-way, so the caches disagree", path);
  const std::int64_t B = batch_size();
  StateDict tensors;
  Metadata metadata{{"format", kFormat}, {"version", kVersion}, {"caches", std::to_string(caches.size())}};
  for (std::size_t i = 0; i < caches.size(); ++i) {
    const AttentionCache& cache = caches[i];
    metadata[cache_key(i, "length")] = std::to_string(cache.length);
    metadata[cache_key(i, "memory_ready")] = cache.memory_ready ? "1" : "0";
    for (auto [field, tensor] : cache_tensors(cache)) {
      if (!tensor->defined()) continue;
      // A softmax cache has room past its length (axis 2); only the valid positions are kept.
      const bool positions = tensor == &cache.keys || tensor == &cache.values;
      tensors[cache_key(i, field)] = positions ? tensor->narrow(2, 0, cache.length) : *tensor;
    }
    if (!cache.sequence_lengths.empty())
      tensors[cache_key(i, "sequence_lengths")] = from_vector(cache.sequence_lengths, {B});
  }
  tensors["lengths"] = from_vector(lengths, {B});
  std::vector<std::int64_t> finished_flags(finished.begin(), finished.end());
  tensors["finished"] = from_vector(finished_flags, {B});
  if (next_logits.defined()) tensors["next_logits"] = next_logits;
  for (const auto& [name, t] : context) tensors["context." + name] = t;
  save_safetensors(tensors, path, metadata);
}

GenerationState GenerationState::load(const std::string& path, const StepModel& model) {
  Metadata metadata;
  StateDict tensors = load_safetensors(path, &metadata);
  EMBER_CHECK(metadata["format"] == kFormat && metadata["version"] == kVersion,
              "GenerationState::load: {}: not a generation state of version {} (format \"{}\", version \"{}\")", path,
              kVersion, metadata["format"], metadata["version"]);
  const auto lengths_entry = tensors.find("lengths");
  EMBER_CHECK(lengths_entry != tensors.end() && lengths_entry->second.dim() == 1,
              "GenerationState::load: {}: \"lengths\" is missing or not 1-D", path);
  const std::int64_t B = lengths_entry->second.size(0);
  GenerationState state;
  state.lengths = take_int64s(tensors, "lengths", B, path);
  for (std::int64_t b = 0; b < B; ++b)
    EMBER_CHECK(state.lengths[b] >= 0 && state.lengths[b] <= kMostPositions,
                "GenerationState::load: {}: sequence {} has length {}, outside [0, {}]", path, b, state.lengths[b],
                kMostPositions);
  for (std::int64_t flag : take_int64s(tensors, "finished", B, path)) {
    EMBER_CHECK(flag == 0 || flag == 1, "GenerationState::load: {}: a \"finished\" flag is {}, not 0 or 1", path, flag);
    state.finished.push_back(flag == 1);
  }
  state.next_logits = take(tensors, "next_logits");
  check_batch(state.next_logits, B, 2, "next_logits", path);

  const std::int64_t cache_count = parse_count(metadata, "caches", path, /*most=*/1'000'000);
  for (std::int64_t i = 0; i < cache_count; ++i) {
    const auto index = static_cast<std::size_t>(i);
    AttentionCache& cache = state.caches.emplace_back();
    cache.length = parse_count(metadata, cache_key(index, "length"), path, kMostPositions);
    cache.memory_ready = parse_count(metadata, cache_key(index, "memory_ready"), path, /*most=*/1) == 1;
    for (auto [field, tensor] : cache_tensors(cache)) {
      *tensor = take(tensors, cache_key(index, field));
      check_batch(*tensor, B, tensor == &cache.key_offset ? 3 : 4, cache_key(index, field), path);
    }
    EMBER_CHECK(cache.keys.defined() == cache.values.defined() && cache.state.defined() == cache.normalizer.defined() &&
                    (!cache.keys.defined() ||
                     (cache.keys.shape() == cache.values.shape() && cache.keys.size(2) == cache.length)),
                "GenerationState::load: {}: cache {} is inconsistent (length {}, keys {}, values {}, state {}, "
                "normalizer {})",
                path, i, cache.length, cache.keys.defined() ? cache.keys.shape() : Shape{},
                cache.values.defined() ? cache.values.shape() : Shape{},
                cache.state.defined() ? cache.state.shape() : Shape{},
                cache.normalizer.defined() ? cache.normalizer.shape() : Shape{});
    if (tensors.contains(cache_key(index, "sequence_lengths"))) {
      cache.sequence_lengths = take_int64s(tensors, cache_key(index, "sequence_lengths"), B, path);
      for (std::int64_t length : cache.sequence_lengths)
        EMBER_CHECK(length >= 0 && length <= cache.length,
                    "GenerationState::load: {}: cache {} holds a sequence of length {}, outside [0, {}]", path, i,
                    length, cache.length);
    }
  }
  const std::string context_prefix = "context.";
  for (auto& [name, t] : tensors) {
    EMBER_CHECK(name.starts_with(context_prefix), "GenerationState::load: {}: unexpected tensor \"{}\"", path, name);
    EMBER_CHECK(t.dim() >= 1 && t.size(0) == B, "GenerationState::load: {}: \"{}\" {} has no batch of {} first", path,
                name, t.shape(), B);
    state.context[name.substr(context_prefix.size())] = t;
  }

  const std::vector<Tensor> parameters = model.parameters();
  if (!parameters.empty()) {
    const Device device = parameters.front().device();
    auto place = [&](Tensor& t) {
      if (t.defined()) t = t.to(device);
    };
    for (AttentionCache& cache : state.caches)
      for (auto [field, tensor] : cache_tensors(cache)) place(*tensor);
    place(state.next_logits);
    for (auto& [name, t] : state.context) place(t);
  }
  model.check_state(state, "GenerationState::load");
  return state;
}

}  // namespace ember::nn
