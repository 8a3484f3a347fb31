// FAVOR+ (Choromanski et al. 2021, "Rethinking Attention with Performers"): positive orthogonal
// random features whose dot products estimate softmax attention's kernel without bias,
//
//   phi(x) = exp(W x' - |x'|^2 / 2 - c) / sqrt(m),   x' = x / D^(1/4),
//   E[phi(q) . phi(k)] = exp(q . k / sqrt(D)) * exp(-c_q - c_k),
//
// W: m x D, drawn in blocks of D exactly orthogonal Gaussian rows (Gram-Schmidt), each row rescaled
// by the length of an independent D-dim Gaussian vector (chi-distributed), so every row is still
// marginally N(0, I) but the estimate's variance is lower than with i.i.d. rows. W is a registered
// buffer ("projection"): checkpoints store it, and a reloaded model computes the same features.
//
// The stabilizer c (the Performer's: subtract the maximum before exp) keeps exp from overflowing
// and keeps a row from vanishing:
//   queries - c is the row's own largest exponent (a per-row constant cancels in the read-out
//             phi(q) S / phi(q) Z, up to eps);
//   keys    - c is the largest exponent over the whole sequence and every feature, per (batch,
//             head), so all keys of a sequence share it, as the read-out needs. In causal mode this
//             constant looks at later keys, but only as a shared scale: outputs do not depend on it
//             (up to eps). Generation keeps the running maximum instead and rescales the RNN state
//             when it grows (forward_key_step), which gives the same outputs as the parallel form.
#pragma once

#include "nn/feature_maps.h"

namespace ember::nn {

struct FavorOptions {
  std::int64_t num_features = 0;     // m; 0: max(D, round(D ln D)), the Performer's default
  bool orthogonal = true;            // false: i.i.d. Gaussian rows
  // Redraw W every this many training forward passes; 0: only on demand. The redraw draws from the
  // thread's default generator and the pass count is not saved in checkpoints (a resumed run
  // counts afresh); under data parallelism, where ranks' default generators differ, redraw on
  // demand instead, with nn::redraw_feature_maps and a generator seeded alike on every rank.
  std::int64_t redraw_interval = 0;
};

class FavorFeatures : public FeatureMap {
 public:
  // Draws W from `generator` (the thread's default generator, as weight initialisation does).
  FavorFeatures(std::int64_t input_dim, FavorOptions options = {}, Generator& generator = default_generator());
  Tensor forward(const Tensor& x) override;
  Tensor forward_keys(const Tensor& x) override;
  Tensor forward_key_step(const Tensor& x, Tensor& offset, std::initializer_list<Tensor> sums) override;
  Tensor forward_valid_keys(const Tensor& x, const Tensor& valid, Tensor& offset) override;
  void new_feature_map(Generator& generator) override;

  std::int64_t num_features() const { return projection.size(0); }
  Tensor projection;  // W, (m, D)

 private:
  Tensor exponent(const Tensor& x, const char* op) const;  // W x' - |x'|^2 / 2: (..., D) -> (..., m)
  Tensor draw(Generator& generator) const;                 // a fresh W, float64 on the CPU
  Tensor features(const Tensor& e, const Tensor& stabilizer) const;  // exp(e - c) / sqrt(m)
  void count_training_pass();  // redraws W every redraw_interval training passes over keys

  std::int64_t input_dim_;
  FavorOptions options_;
  std::int64_t training_passes_ = 0;  // forward_keys calls in training mode, for redraw_interval
};

namespace feature_maps {
FeatureMapSpec favor(FavorOptions options = {});
}  // namespace feature_maps

}  // namespace ember::nn
