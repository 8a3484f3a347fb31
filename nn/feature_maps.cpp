// The deterministic and learned feature maps, their specs, and the redraw walk over a model.
#include "nn/feature_maps.h"

#include <algorithm>
#include <vector>

#include "core/factory.h"
#include "ops/elementwise.h"
#include "ops/shape_ops.h"
#include "ops/softmax.h"

namespace ember::nn {

Tensor FeatureMap::forward_valid_keys(const Tensor& x, const Tensor& valid, Tensor& /*offset*/) {
  // where, not a product: a user's map may overflow at padding, and inf * 0 is NaN.
  const Tensor features = forward_keys(x);
  return where(gt(valid, zeros_like(valid)), features, zeros_like(features));
}

Tensor elu_plus_one(const Tensor& x) { return ember::relu(x) + exp(-ember::relu(-x)); }

Tensor ReluFeatures::forward(const Tensor& x) { return ember::relu(x); }

LearnedFeatures::LearnedFeatures(std::int64_t input_dim, std::int64_t hidden) {
  EMBER_CHECK(input_dim > 0 && hidden > 0, "LearnedFeatures: input_dim {} and hidden {} must be positive", input_dim,
              hidden);
  projection = register_module("projection", std::make_shared<Linear>(input_dim, hidden));
  // Identity where it fits, as Hedgehog starts: phi(x) begins as softmax(x) and -x.
  std::vector<float> identity(static_cast<std::size_t>(hidden * input_dim), 0.0f);
  for (std::int64_t i = 0; i < std::min(hidden, input_dim); ++i) identity[i * input_dim + i] = 1.0f;
  projection->weight.detach().copy_(from_vector(identity, {hidden, input_dim}));
  projection->bias.detach().zero_();
}

Tensor LearnedFeatures::forward(const Tensor& x) {
  Tensor z = projection->forward(x);  // (..., hidden)
  return cat({softmax(z, -1), softmax(-z, -1)}, -1);  // (..., 2 hidden)
}

std::shared_ptr<FeatureMap> FeatureMapSpec::make(std::int64_t head_dim) const {
  std::shared_ptr<FeatureMap> map = factory_ ? factory_(head_dim) : nullptr;
  EMBER_CHECK(map != nullptr, "FeatureMapSpec: the factory made no feature map for head_dim {}", head_dim);
  return map;
}

namespace feature_maps {
FeatureMapSpec elu_plus_one() {
  return FeatureMapSpec([](std::int64_t) { return std::make_shared<EluPlusOne>(); });
}
FeatureMapSpec relu() {
  return FeatureMapSpec([](std::int64_t) { return std::make_shared<ReluFeatures>(); });
}
FeatureMapSpec learned(LearnedFeatureOptions options) {
  return FeatureMapSpec([options](std::int64_t head_dim) {
    return std::make_shared<LearnedFeatures>(head_dim, options.hidden > 0 ? options.hidden : head_dim);
  });
}
}  // namespace feature_maps

namespace {
void redraw_below(Module& module, Generator& generator, std::vector<const Module*>& seen) {
  if (std::find(seen.begin(), seen.end(), &module) != seen.end()) return;  // shared: drawn once
  seen.push_back(&module);
  if (auto* map = dynamic_cast<FeatureMap*>(&module)) map->new_feature_map(generator);
  for (const auto& [name, child] : module.named_children()) redraw_below(*child, generator, seen);
}
}  // namespace

void redraw_feature_maps(Module& root, Generator& generator) {
  std::vector<const Module*> seen;
  redraw_below(root, generator, seen);
}

}  // namespace ember::nn
