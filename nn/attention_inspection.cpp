// The attention recorder and the matrices it recomputes (see attention_inspection.h).
#include "nn/attention_inspection.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/grad_mode.h"
#include "core/factory.h"

namespace ember::nn {

namespace {

thread_local AttentionRecorder* t_active_recorder = nullptr;

bool selected(const std::vector<std::int64_t>& chosen, std::int64_t index) {
  return chosen.empty() || std::find(chosen.begin(), chosen.end(), index) != chosen.end();
}

// (B, N, D) saved tensor as float64 on the CPU, contiguous.
Tensor cpu_float64(const Tensor& x) { return x.to(kCPU).to(kFloat64).contiguous(); }

// scores (Nq, Nk) of one sequence -> softmax rows; masked entries (-inf) get 0, as does a row
// whose keys are all masked (sdpa's convention).
void softmax_rows(double* scores, std::int64_t Nq, std::int64_t Nk) {
  if (Nk == 0) return;
  for (std::int64_t i = 0; i < Nq; ++i) {
    double* row = scores + i * Nk;
    const double row_max = *std::max_element(row, row + Nk);
    if (row_max == -std::numeric_limits<double>::infinity()) {
      std::fill(row, row + Nk, 0.0);
      continue;
    }
    double total = 0;
    for (std::int64_t j = 0; j < Nk; ++j) total += row[j] = std::exp(row[j] - row_max);
    for (std::int64_t j = 0; j < Nk; ++j) row[j] /= total;
  }
}

}  // namespace

AttentionRecorder::AttentionRecorder(RecordSelection selection)
    : selection_(std::move(selection)), outer_(t_active_recorder) {
  t_active_recorder = this;
}

AttentionRecorder::~AttentionRecorder() {
  if (t_active_recorder == this) {
    t_active_recorder = outer_;
    return;
  }
  // Destroyed before a recorder made after it (held in a unique_ptr, say): unlink it from the chain,
  // so the later one restores what this one would have.
  for (AttentionRecorder* r = t_active_recorder; r != nullptr; r = r->outer_) {
    if (r->outer_ == this) {
      r->outer_ = outer_;
      return;
    }
  }
}

AttentionRecorder* AttentionRecorder::active() { return t_active_recorder; }

void AttentionRecorder::record_softmax(const Tensor& q, const Tensor& k, const Tensor& key_lengths, bool causal) {
  AttentionRecord prototype;
  prototype.kind = AttentionKind::Softmax;
  prototype.causal = causal;
  if (key_lengths.defined()) prototype.key_lengths = key_lengths.detach().to(kCPU).clone();
  save(std::move(prototype), q, k);
}

void AttentionRecorder::record_linear(const Tensor& phi_q, const Tensor& phi_k, bool causal, double eps) {
  AttentionRecord prototype;
  prototype.kind = AttentionKind::Linear;
  prototype.causal = causal;
  prototype.eps = eps;
  save(std::move(prototype), phi_q, phi_k);
}

void AttentionRecorder::save(AttentionRecord prototype, const Tensor& q, const Tensor& k) {
  const std::int64_t layer = layers_seen_++;
  if (!selected(selection_.layers, layer)) return;
  EMBER_CHECK(q.dim() == 4 && k.dim() == 4 && q.size(0) == k.size(0) && q.size(1) == k.size(1) &&
                  q.size(3) == k.size(3),
              "AttentionRecorder: expected queries (B, H, Nq, D) and keys (B, H, Nk, D), got {} and {}", q.shape(),
              k.shape());
  const std::int64_t heads = q.size(1);
  for (std::int64_t head : selection_.heads)
    EMBER_CHECK(head >= 0 && head < heads, "AttentionRecorder: head {} was asked for, but layer {} has {} heads", head,
                layer, heads);
  NoGradGuard no_grad;
  for (std::int64_t head = 0; head < heads; ++head) {
    if (!selected(selection_.heads, head)) continue;
    AttentionRecord record = prototype;
    record.layer = layer;
    record.head = head;
    record.queries = q.select(1, head).detach().clone();  // (B, Nq, D): a copy, so later writes cannot reach it
    record.keys = k.select(1, head).detach().clone();     // (B, Nk, D)
    records_.push_back(std::move(record));
  }
}

const AttentionRecord& AttentionRecorder::record(std::int64_t layer, std::int64_t head) const {
  for (const AttentionRecord& r : records_)
    if (r.layer == layer && r.head == head) return r;
  fail("AttentionRecorder::record: layer {} head {} was not recorded ({} records, {} layers seen)", layer, head,
       records_.size(), layers_seen_);
}

Tensor attention_matrices(const AttentionRecord& record) {
  EMBER_CHECK(record.queries.defined() && record.keys.defined() && record.queries.dim() == 3 &&
                  record.keys.dim() == 3 && record.queries.size(0) == record.keys.size(0) &&
                  record.queries.size(2) == record.keys.size(2),
              "attention_matrices: expected queries (B, Nq, D) and keys (B, Nk, D), got {} and {}",
              record.queries.defined() ? record.queries.shape() : Shape{},
              record.keys.defined() ? record.keys.shape() : Shape{});
  const Tensor q = cpu_float64(record.queries), k = cpu_float64(record.keys);
  const std::int64_t B = q.size(0), Nq = q.size(1), Nk = k.size(1), D = q.size(2);
  EMBER_CHECK(!record.causal || Nq == Nk, "attention_matrices: causal attention needs Nq == Nk, got {} and {}", Nq, Nk);
  std::vector<std::int64_t> lengths(static_cast<std::size_t>(B), Nk);
  if (record.key_lengths.defined()) {
    EMBER_CHECK(record.key_lengths.shape() == Shape{B}, "attention_matrices: key_lengths must be ({}), got {}", B,
                record.key_lengths.shape());
    lengths = record.key_lengths.to_vector<std::int64_t>();
  }
  const bool softmax = record.kind == AttentionKind::Softmax;
  const double scale = softmax ? 1.0 / std::sqrt(static_cast<double>(D)) : 1.0;
  const double masked = softmax ? -std::numeric_limits<double>::infinity() : 0.0;
  Tensor matrices = empty({B, Nq, Nk}, kFloat64);  // (B, Nq, Nk)
  const double *qp = q.data_ptr<double>(), *kp = k.data_ptr<double>();
  double* out = matrices.data_ptr<double>();
  for (std::int64_t b = 0; b < B; ++b) {
    double* a = out + b * Nq * Nk;
    for (std::int64_t i = 0; i < Nq; ++i) {
      const double* qi = qp + (b * Nq + i) * D;
      for (std::int64_t j = 0; j < Nk; ++j) {
        const bool visible = (!record.causal || j <= i) && j < lengths[static_cast<std::size_t>(b)];
        double dot = 0;
        const double* kj = kp + (b * Nk + j) * D;
        for (std::int64_t d = 0; d < D; ++d) dot += qi[d] * kj[d];
        a[i * Nk + j] = visible ? scale * dot : masked;
      }
    }
    if (softmax) {
      softmax_rows(a, Nq, Nk);
      continue;
    }
    for (std::int64_t i = 0; i < Nq; ++i) {  // the layer's own normaliser: sum of the row plus eps
      double* row = a + i * Nk;
      double z = record.eps;
      for (std::int64_t j = 0; j < Nk; ++j) z += row[j];
      for (std::int64_t j = 0; j < Nk; ++j) row[j] /= z;
    }
  }
  return matrices;
}

}  // namespace ember::nn
