// Feature maps phi of linear attention as modules: each attention layer owns its map, so a map can
// have parameters (learned), buffers (FAVOR+'s random projection, saved in checkpoints) and state.
//
//   EluPlusOne       elu(x) + 1, the paper's default, computed as exp(x) below 0
//   ReluFeatures     max(x, 0)
//   FavorFeatures    FAVOR+ positive orthogonal random features (Performer), nn/favor.h
//   LearnedFeatures  a linear layer and a softmax over features, both signs (Hedgehog-style)
//   FunctionFeatureMap  a user's stateless function
//
// Attention layers take a FeatureMapSpec (a factory called once per layer with the head size)
// rather than a map, since one options struct builds every layer of a model.
//
// Queries and keys go through different entry points because FAVOR+'s numerical stabilizer differs
// between them: a query row may be scaled by any constant of its own (it cancels in the
// normalised read-out), the keys of one sequence only by a constant they share. Every other map
// treats both alike.
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <type_traits>

#include "core/random.h"
#include "nn/layers.h"
#include "ops/formulas/feature_maps.h"

namespace ember::nn {

class FeatureMap : public UnaryModule {
 public:
  // Features of queries (or of any rows, each on its own): x (..., D) -> (..., F).
  Tensor forward(const Tensor& x) override = 0;
  // Features of the keys of whole sequences: x (..., N, D) -> (..., N, F).
  virtual Tensor forward_keys(const Tensor& x) { return forward(x); }
  // Generation: the newest keys x (B, H, D) -> (B, H, F), about to be added to running sums over
  // the earlier keys' features (the RNN state S (B, H, F, M) and normalizer Z (B, H, F, 1)). A map
  // whose key features share a per-sequence constant keeps its running value in `offset` (B, H, 1;
  // undefined before the first key) and rescales `sums` in place when it changes, so that the
  // recurrent form equals forward_keys over the whole sequence.
  virtual Tensor forward_key_step(const Tensor& x, Tensor& /*offset*/, std::initializer_list<Tensor> /*sums*/) {
    return forward(x);
  }
  // Keys of right-padded sequences: x (B, H, N, D) and `valid` (B, 1, N, 1), 1 at a sequence's
  // positions and 0 at padding -> features (B, H, N, F), exactly zero at padding, which also
  // stays out of any shared constant; that constant goes to `offset` (B, H, 1), for
  // forward_key_step to continue from after a prefill (a map without one leaves it undefined).
  virtual Tensor forward_valid_keys(const Tensor& x, const Tensor& valid, Tensor& offset);
  // Draws the random parts again (FAVOR+'s projection); deterministic maps do nothing.
  virtual void new_feature_map(Generator& /*generator*/) {}
  // The elementwise formula linear_attention_step applies inside its kernel (built-in maps only).
  virtual std::optional<StepFeatureMap> formula() const { return std::nullopt; }
};

// elu(x) + 1 computed as relu(x) + exp(min(x, 0)): x + 1 above 0, exp(x) below. Written as
// elu(x) + 1, the -1 and +1 cancel only to float32's spacing near 1, so every x below about -17
// gives exactly 0 and a row of features (and the normalizer with it) can vanish. exp's argument
// never exceeds 0, so its backward cannot meet an overflowed exp(x) for large x.
Tensor elu_plus_one(const Tensor& x);

class EluPlusOne : public FeatureMap {
 public:
  Tensor forward(const Tensor& x) override { return elu_plus_one(x); }
  std::optional<StepFeatureMap> formula() const override { return StepFeatureMap::EluPlusOne; }
};

class ReluFeatures : public FeatureMap {
 public:
  Tensor forward(const Tensor& x) override;
  std::optional<StepFeatureMap> formula() const override { return StepFeatureMap::Relu; }
};

// A user's function; it must return non-negative features.
class FunctionFeatureMap : public FeatureMap {
 public:
  explicit FunctionFeatureMap(std::function<Tensor(const Tensor&)> fn) : fn_(std::move(fn)) {}
  Tensor forward(const Tensor& x) override { return fn_(x); }

 private:
  std::function<Tensor(const Tensor&)> fn_;
};

// Hedgehog-style learnable map (Zhang et al. 2024): z = x W^T + b (W: F/2 x D, initialised to the
// identity where it fits, b = 0), phi(x) = [softmax(z), softmax(-z)] over the features, so F =
// 2 * hidden. Positive and bounded (each half sums to 1), so it needs no stabilizer.
class LearnedFeatures : public FeatureMap {
 public:
  LearnedFeatures(std::int64_t input_dim, std::int64_t hidden);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<Linear> projection;
};

// How an attention layer makes its map: called once per layer with the head size. A function
// Tensor(const Tensor&) converts implicitly (wrapped in a FunctionFeatureMap), as before maps
// were modules.
class FeatureMapSpec {
 public:
  using Factory = std::function<std::shared_ptr<FeatureMap>(std::int64_t head_dim)>;
  explicit FeatureMapSpec(Factory factory) : factory_(std::move(factory)) {}
  template <typename F>
    requires(std::is_invocable_r_v<Tensor, const F&, const Tensor&> &&
             !std::is_same_v<std::decay_t<F>, FeatureMapSpec>)
  FeatureMapSpec(F fn)  // NOLINT: implicit by design, as std::function
      : factory_([fn = std::move(fn)](std::int64_t) { return std::make_shared<FunctionFeatureMap>(fn); }) {}

  std::shared_ptr<FeatureMap> make(std::int64_t head_dim) const;

 private:
  Factory factory_;
};

struct LearnedFeatureOptions {
  std::int64_t hidden = 0;  // F / 2; 0: the head size
};

namespace feature_maps {
FeatureMapSpec elu_plus_one();  // the paper's choice, the default
FeatureMapSpec relu();
FeatureMapSpec learned(LearnedFeatureOptions options = {});
}  // namespace feature_maps

// Calls new_feature_map on every feature map below `root` (on demand redraw, e.g. every K steps
// of a training loop).
void redraw_feature_maps(Module& root, Generator& generator);

}  // namespace ember::nn
