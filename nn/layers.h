// The basic layers: Linear, Embedding, LayerNorm, Dropout, Sequential, FeedForward and the
// sinusoidal PositionalEncoding. Initialisations follow PyTorch's defaults.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nn/module.h"

namespace ember::nn {

// y = x W^T + b, W: (out, in). Kaiming-uniform init as torch.nn.Linear: U(-1/sqrt(in), 1/sqrt(in))
// for W and b. Inputs (..., in) are one GEMM with the bias fused in (ops/linear.h).
class Linear : public UnaryModule {
 public:
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias;  // bias undefined when disabled
};

// Rows of a (num_embeddings, dim) table, N(0, 1) init as torch.nn.Embedding.
class Embedding : public Module {
 public:
  Embedding(std::int64_t num_embeddings, std::int64_t dim);
  Tensor forward(const Tensor& indices);  // int64 (...) -> (..., dim)
  Tensor operator()(const Tensor& indices) { return forward(indices); }
  Tensor weight;
};

class LayerNorm : public UnaryModule {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true);
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias;

 private:
  Shape normalized_shape_;
  double eps_;
};

class Dropout : public UnaryModule {
 public:
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& x) override;  // identity in eval mode

 private:
  double p_;
};

class Sequential : public UnaryModule {
 public:
  Sequential() = default;
  void push_back(std::shared_ptr<UnaryModule> module);
  Tensor forward(const Tensor& x) override;
  std::size_t size() const { return layers_.size(); }

 private:
  std::vector<std::shared_ptr<UnaryModule>> layers_;
};

enum class Activation { ReLU, GELU };

// Linear(d_model, d_ff) -> activation -> Dropout -> Linear(d_ff, d_model).
class FeedForward : public UnaryModule {
 public:
  FeedForward(std::int64_t d_model, std::int64_t d_ff, double dropout = 0.0,
              Activation activation = Activation::ReLU);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<Linear> fc1, fc2;

 private:
  std::shared_ptr<Dropout> dropout_;
  Activation activation_;
};

// Adds the sinusoidal encoding of Vaswani et al. to (B, N, d_model) inputs, starting at position
// `start` (used during generation). The table is computed on demand and cached; it is not a
// parameter or a saved buffer.
class PositionalEncoding : public Module {
 public:
  explicit PositionalEncoding(std::int64_t d_model);
  Tensor forward(const Tensor& x, std::int64_t start = 0);
  Tensor operator()(const Tensor& x, std::int64_t start = 0) { return forward(x, start); }
  // The encodings of positions start .. start + n - 1 alone, (n, d_model), a view of the cache.
  Tensor encodings(std::int64_t start, std::int64_t n, DType dtype, Device device);

 private:
  Tensor table(std::int64_t length, DType dtype, Device device);
  Tensor rows(std::int64_t start, std::int64_t n, DType dtype, Device device) const;  // (n, d_model), computed
  std::int64_t d_model_;
  Tensor table_;  // (length, d_model)
};

}  // namespace ember::nn
