// Implementations of the basic layers (see layers.h).
#include "nn/layers.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "autograd/grad_mode.h"
#include "core/factory.h"
#include "ops/elementwise.h"
#include "ops/embedding.h"
#include "ops/layer_norm.h"
#include "ops/linear.h"
#include "ops/random.h"
#include "ops/view.h"

namespace ember::nn {

namespace {
Tensor uniform(const Shape& shape, double bound) { return rand(shape) * (2 * bound) - bound; }
}  // namespace

Linear::Linear(std::int64_t in_features, std::int64_t out_features, bool with_bias) {
  EMBER_CHECK(in_features > 0 && out_features > 0, "Linear: features must be positive, got {} -> {}",
              in_features, out_features);
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
  weight = register_parameter("weight", uniform({out_features, in_features}, bound));
  if (with_bias) bias = register_parameter("bias", uniform({out_features}, bound));
}

Tensor Linear::forward(const Tensor& x) {
  EMBER_CHECK(x.defined(), "Linear: undefined input");
  EMBER_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1),
              "Linear: input of shape {} does not end in in_features = {}", x.shape(), weight.size(1));
  return linear(x, weight, bias);  // one GEMM (GEMV for one row) with the bias fused in
}

Embedding::Embedding(std::int64_t num_embeddings, std::int64_t dim) {
  EMBER_CHECK(num_embeddings > 0 && dim > 0, "Embedding: sizes must be positive, got ({}, {})",
              num_embeddings, dim);
  weight = register_parameter("weight", randn({num_embeddings, dim}));
}

Tensor Embedding::forward(const Tensor& indices) { return embedding(weight, indices); }

LayerNorm::LayerNorm(Shape normalized_shape, double eps, bool elementwise_affine)
    : normalized_shape_(std::move(normalized_shape)), eps_(eps) {
  if (elementwise_affine) {
    weight = register_parameter("weight", ones(normalized_shape_));
    bias = register_parameter("bias", zeros(normalized_shape_));
  }
}

Tensor LayerNorm::forward(const Tensor& x) { return layer_norm(x, normalized_shape_, weight, bias, eps_); }

Dropout::Dropout(double p) : p_(p) {
  EMBER_CHECK(p >= 0 && p <= 1, "Dropout: probability must be in [0, 1], got {}", p);
}

Tensor Dropout::forward(const Tensor& x) { return dropout(x, p_, is_training()); }

void Sequential::push_back(std::shared_ptr<UnaryModule> module) {
  register_module(std::to_string(layers_.size()), module);
  layers_.push_back(std::move(module));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (auto& layer : layers_) y = layer->forward(y);
  return y;
}

FeedForward::FeedForward(std::int64_t d_model, std::int64_t d_ff, double dropout, Activation activation)
    : activation_(activation) {
  fc1 = register_module("fc1", std::make_shared<Linear>(d_model, d_ff));
  dropout_ = register_module("dropout", std::make_shared<Dropout>(dropout));
  fc2 = register_module("fc2", std::make_shared<Linear>(d_ff, d_model));
}

Tensor FeedForward::forward(const Tensor& x) {
  Tensor h = fc1->forward(x);
  h = activation_ == Activation::GELU ? gelu(h) : relu(h);
  return fc2->forward(dropout_->forward(h));
}

PositionalEncoding::PositionalEncoding(std::int64_t d_model) : d_model_(d_model) {
  EMBER_CHECK(d_model > 0, "PositionalEncoding: d_model must be positive, got {}", d_model);
}

namespace {

// The cached table grows up to this many positions (2^20: every sequence length Ember measures);
// positions past it are computed on each call rather than kept.
constexpr std::int64_t kCachedPositions = std::int64_t{1} << 20;

}  // namespace

Tensor PositionalEncoding::rows(std::int64_t start, std::int64_t n, DType dtype, Device device) const {
  std::vector<double> values(static_cast<std::size_t>(n * d_model_));
  for (std::int64_t r = 0; r < n; ++r) {
    const double pos = static_cast<double>(start + r);
    for (std::int64_t i = 0; i < d_model_; ++i) {
      const double freq = std::exp(-std::log(10000.0) * static_cast<double>(i - i % 2) / d_model_);
      values[r * d_model_ + i] = i % 2 == 0 ? std::sin(pos * freq) : std::cos(pos * freq);
    }
  }
  return from_vector(values, {n, d_model_}, TensorOptions(dtype, device));
}

Tensor PositionalEncoding::table(std::int64_t length, DType dtype, Device device) {
  if (!table_.defined() || table_.size(0) < length || table_.dtype() != dtype || table_.device() != device) {
    // Grow geometrically so generation, one position at a time, rebuilds rarely.
    const std::int64_t grown = table_.defined() ? std::min(2 * table_.size(0), kCachedPositions) : 64;
    table_ = rows(0, std::max(length, grown), dtype, device);
  }
  return table_;
}

Tensor PositionalEncoding::forward(const Tensor& x, std::int64_t start) {
  EMBER_CHECK(x.defined() && x.dim() == 3 && x.size(2) == d_model_,
              "PositionalEncoding: expected (B, N, {}) input, got {}", d_model_, x.defined() ? x.shape() : Shape{});
  return x + encodings(start, x.size(1), x.dtype(), x.device());
}

Tensor PositionalEncoding::encodings(std::int64_t start, std::int64_t n, DType dtype, Device device) {
  EMBER_CHECK(start >= 0 && n >= 0 && start <= std::numeric_limits<std::int64_t>::max() - n,
              "PositionalEncoding: negative start position or length, or past int64 ({} and {})", start, n);
  if (start + n > kCachedPositions) return rows(start, n, dtype, device);  // a state far along, or hostile
  return table(start + n, dtype, device).slice(0, start, start + n);
}

}  // namespace ember::nn
