// Attention heat maps, per-head metrics and report.md's comparison for --inspect (see inspect.h).
#include "inspect.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "data.h"
#include "exit_codes.h"
#include "model.h"

using namespace ember;

namespace copy_task {

namespace {

// The inspection batch's data stream: the run's seed XOR this, a stream no run trains or tests on.
constexpr std::uint64_t kInspectSeedOffset = 0x2545F4914F6CDD1Dull;
constexpr std::int64_t kPanelWidth = 520, kPanelHeight = 500;  // pixels per head in a heat map

// One head's metrics, each the mean over the batch's sequences.
struct HeadMetrics {
  std::int64_t layer = 0, head = 0;
  double entropy = 0, effective_rank = 0, copy_diagonal_mass = 0;
  std::optional<double> lin_soft_distance;  // to the nearest head of the other kind, same layer
};

// Everything --inspect learned about one trained kind.
struct KindInspection {
  nn::AttentionKind kind = nn::AttentionKind::Softmax;
  std::vector<std::vector<Tensor>> matrices;  // [layer][head]: (B, L, L) float64 on the CPU
  std::vector<HeadMetrics> heads;             // in order of layer, then head
};

// The key each query copies from: in the copy (queries n .. 2n-1, which predict s_1 .. s_n) query
// i copies key i - n; every other query copies nothing (-1).
std::vector<std::int64_t> copy_sources(std::int64_t seq_len, std::int64_t n) {
  std::vector<std::int64_t> sources(static_cast<std::size_t>(seq_len), -1);
  for (std::int64_t i = n; i < 2 * n; ++i) sources[static_cast<std::size_t>(i)] = i - n;
  return sources;
}

// The mean over the batch (dim 0 of (B, L, L)) of metric(A_b).
template <typename Metric>
double batch_mean(const Tensor& matrices, Metric metric) {
  double total = 0;
  for (std::int64_t b = 0; b < matrices.size(0); ++b) total += metric(matrices.select(0, b));
  return total / static_cast<double>(matrices.size(0));
}

KindInspection inspect_kind(const Config& config, nn::AttentionKind kind, const LmBatch& batch,
                            const std::vector<std::int64_t>& sources) {
  const std::int64_t seq_len = config.seq_lens.front();
  auto model = CopyModel::create(config, kind, seq_len);
  const std::string weights = weights_path(config, RunId{kind, seq_len, config.seed});
  try {
    nn::load(model->module(), weights);
  } catch (const Error& e) {
    environment_failure("--inspect: cannot reload {}: {}", weights, e.what());
  }
  auto* lm = dynamic_cast<nn::CausalLM*>(&model->module());
  EMBER_CHECK(lm != nullptr, "--inspect: the paper protocol's model is not a CausalLM");
  lm->eval();
  KindInspection inspection;
  inspection.kind = kind;
  {
    NoGradGuard no_grad;
    nn::AttentionRecorder recorder;
    lm->forward(batch.inputs.to(config.device));
    inspection.matrices.resize(static_cast<std::size_t>(recorder.layers_seen()));
    for (const nn::AttentionRecord& record : recorder.records())
      inspection.matrices[static_cast<std::size_t>(record.layer)].push_back(nn::attention_matrices(record));
  }
  for (std::size_t layer = 0; layer < inspection.matrices.size(); ++layer) {
    for (std::size_t head = 0; head < inspection.matrices[layer].size(); ++head) {
      const Tensor& a = inspection.matrices[layer][head];
      inspection.heads.push_back(
          {static_cast<std::int64_t>(layer), static_cast<std::int64_t>(head),
           batch_mean(a, [](const Tensor& m) { return nn::attention_entropy(m); }),
           batch_mean(a, [](const Tensor& m) { return nn::effective_rank(m); }),
           batch_mean(a, [&](const Tensor& m) { return nn::copy_diagonal_mass(m, sources); }),
           std::nullopt});
    }
  }
  return inspection;
}

// Mean over the batch of the distance between two heads' matrices (B, L, L).
double mean_distance(const Tensor& a, const Tensor& b) {
  double total = 0;
  for (std::int64_t s = 0; s < a.size(0); ++s) total += nn::attention_distance(a.select(0, s), b.select(0, s));
  return total / static_cast<double>(a.size(0));
}

// Fills lin_soft_distance of both kinds: each head against the nearest head of the other kind.
void compare_kinds(KindInspection& x, KindInspection& y) {
  auto fill = [](KindInspection& from, const KindInspection& to) {
    for (HeadMetrics& m : from.heads) {
      const auto& others = to.matrices[static_cast<std::size_t>(m.layer)];
      double nearest = std::numeric_limits<double>::infinity();
      for (const Tensor& other : others)
        nearest = std::min(nearest, mean_distance(from.matrices[static_cast<std::size_t>(m.layer)]
                                                                [static_cast<std::size_t>(m.head)], other));
      m.lin_soft_distance = nearest;
    }
  };
  fill(x, y);
  fill(y, x);
}

std::string metrics_csv(const std::vector<KindInspection>& kinds) {
  std::string csv = "kind,layer,head,entropy,effective_rank,copy_diagonal_mass,lin_soft_distance\n";
  for (const auto& k : kinds)
    for (const auto& m : k.heads)
      csv += fmt::format("{},{},{},{:.6f},{:.6f},{:.6f},{}\n", nn::attention_kind_name(k.kind), m.layer, m.head,
                         m.entropy, m.effective_rank, m.copy_diagonal_mass,
                         m.lin_soft_distance ? fmt::format("{:.6f}", *m.lin_soft_distance) : "");
  return csv;
}

std::string picture_path(const Config& config, nn::AttentionKind kind, std::size_t layer) {
  return fmt::format("{}/attention_{}_layer{}.png", config.out, nn::attention_kind_name(kind), layer);
}

// One picture: the heads of one layer for the batch's first sequence, a panel each, weights on a
// fixed 0..1 colour scale (so that kinds and layers compare), the copy sources circled.
std::string heat_map_script(const std::vector<Tensor>& heads, const std::string& title, const std::string& kind_name,
                            std::size_t layer, const std::vector<std::int64_t>& sources, const std::string& output) {
  const std::int64_t count = static_cast<std::int64_t>(heads.size());
  const std::int64_t columns = static_cast<std::int64_t>(std::ceil(std::sqrt(static_cast<double>(count))));
  const std::int64_t rows = (count + columns - 1) / columns;
  const std::int64_t n = heads.front().size(1);
  std::string script = fmt::format("set terminal pngcairo size {},{} font ',11'\nset output {}\n",
                                   columns * kPanelWidth, rows * kPanelHeight + 40, gnuplot_quoted(output));
  script += "$copy << EOD\n";
  for (std::size_t i = 0; i < sources.size(); ++i)
    if (sources[i] >= 0) script += fmt::format("{} {}\n", sources[i], i);
  script += "EOD\n";
  for (std::int64_t h = 0; h < count; ++h) {
    const Tensor a = heads[static_cast<std::size_t>(h)].select(0, 0).contiguous();  // (L, L) of sequence 0
    const double* p = a.data_ptr<double>();
    script += fmt::format("$head{} << EOD\n", h);
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t j = 0; j < n; ++j) script += fmt::format("{}{:.5f}", j ? " " : "", p[i * n + j]);
      script += "\n";
    }
    script += "EOD\n";
  }
  const std::int64_t tic = std::max<std::int64_t>(1, n / 6);
  script += fmt::format(
      "set multiplot layout {},{} title {} font ',13'\n"
      "set xrange [-0.5:{}.5]\nset yrange [{}.5:-0.5]\nset size ratio -1\n"
      "set xtics 0,{} out nomirror\nset ytics 0,{} out nomirror\n"
      "set xlabel 'key position'\nset ylabel 'query position'\n"
      "set cbrange [0:1]\nset cblabel 'attention weight'\nset cbtics 0,0.25,1\n"
      "set palette defined (0 '#ffffff', 0.15 '#fee8c8', 0.4 '#fc8d59', 0.7 '#d7301f', 1 '#4a0000')\n"
      "set key top right opaque box\n",
      rows, columns, gnuplot_quoted(title), n - 1, n - 1, tic, tic);
  for (std::int64_t h = 0; h < count; ++h)
    script += fmt::format("set title '{} attention, layer {}, head {}'\n"
                          "plot $head{} matrix with image notitle, "
                          "$copy using 1:2 with points pt 6 ps 1.2 lw 1.5 lc rgb '#1f4e9c' title 'copy source'\n",
                          kind_name, layer, h, h);
  return script + "unset multiplot\nunset output\n";
}

PlotOutcome draw_heat_maps(const Config& config, const std::vector<KindInspection>& kinds,
                           const std::vector<std::int64_t>& sources, std::int64_t n) {
  std::string script;
  std::vector<std::string> pictures;
  for (const auto& k : kinds) {
    const std::string name = nn::attention_kind_name(k.kind);
    for (std::size_t layer = 0; layer < k.matrices.size(); ++layer) {
      if (k.matrices[layer].empty()) continue;
      const std::string picture = picture_path(config, k.kind, layer);
      const std::string title = fmt::format(
          "{} attention, layer {}: one held-out sequence copying n = {} symbols (query i predicts token i+1)", name,
          layer, n);
      script += heat_map_script(k.matrices[layer], title, name, layer, sources, temporary_picture(picture));
      pictures.push_back(picture);
    }
  }
  if (pictures.empty()) return {};
  return render_pictures(script, pictures, config.out + "/attention.gp", config.out + "/attention.log");
}

// Mean of one metric over every head of a kind (optionally one layer).
template <typename Field>
double mean_over_heads(const KindInspection& k, Field field, std::optional<std::int64_t> layer = std::nullopt) {
  double total = 0;
  std::int64_t count = 0;
  for (const auto& m : k.heads)
    if (!layer || m.layer == *layer) total += field(m), ++count;
  return count ? total / static_cast<double>(count) : 0.0;
}

double best_copy_mass(const KindInspection& k) {
  double best = 0;
  for (const auto& m : k.heads) best = std::max(best, m.copy_diagonal_mass);
  return best;
}

const char* compare(double a, double b) { return a > b ? "higher" : a < b ? "lower" : "the same"; }

std::string comparison_paragraph(const KindInspection& lin, const KindInspection& soft, const Config& config) {
  auto entropy = [](const HeadMetrics& m) { return m.entropy; };
  auto rank = [](const HeadMetrics& m) { return m.effective_rank; };
  auto mass = [](const HeadMetrics& m) { return m.copy_diagonal_mass; };
  auto distance = [](const HeadMetrics& m) { return m.lin_soft_distance.value_or(0.0); };
  const double le = mean_over_heads(lin, entropy), se = mean_over_heads(soft, entropy);
  const double lr = mean_over_heads(lin, rank), sr = mean_over_heads(soft, rank);
  const double lm = mean_over_heads(lin, mass), sm = mean_over_heads(soft, mass);
  const double lb = best_copy_mass(lin), sb = best_copy_mass(soft);
  const std::int64_t seq_len = config.seq_lens.front(), features = config.d_model / config.heads;
  // phi(Q) phi(K)^T has rank at most the feature dimension (elu + 1 keeps the head's width).
  const std::string bound =
      features < seq_len
          ? fmt::format("Before the causal mask phi(Q) phi(K)^T has rank at most its feature dimension D = {}, below "
                        "N = {}, so the bound can bind here.", features, seq_len)
          : fmt::format("Before the causal mask phi(Q) phi(K)^T has rank at most its feature dimension D = {}, but "
                        "here N = {} is not larger, so that bound cannot bind at this size; it can at longer "
                        "sequences or narrower heads.", features, seq_len);
  const bool sharpness_not_rank = lr >= sr && le > se && lb < sb;
  return fmt::format(
      "Averaged over all layers and heads, linear attention's heads have {} entropy than softmax's ({:.3f} vs {:.3f} "
      "nats), {} effective rank ({:.2f} vs {:.2f}, of at most {}) and {} mass on the copy diagonal ({:.3f} vs "
      "{:.3f}; the best head: {:.3f} vs {:.3f}). The authors explain linear attention's slower learning of the copy "
      "by the low rank of its attention matrix: on this batch linear attention's matrices {}, while {}. {}{} Each "
      "linear head lies on average {:.3f} from the nearest softmax head of its layer (root mean square over queries "
      "of the distance between their rows; 0 for identical matrices, up to {:.3f} for rows on disjoint keys).\n",
      compare(le, se), le, se, compare(lr, sr), lr, sr, seq_len, compare(lm, sm), lm, sm, lb, sb,
      lr < sr ? "are of lower rank, as that explanation expects" : "are not of lower rank",
      lb < sb ? "no linear head puts as much weight on the copied position as the best softmax head does"
              : "its best head puts at least as much weight on the copied position as the best softmax head",
      sharpness_not_rank ? "What linear attention lacks here is sharpness, not rank. " : "", bound,
      mean_over_heads(lin, distance), std::sqrt(2.0));
}

std::string report_section(const Config& config, const std::vector<KindInspection>& kinds,
                           const std::vector<std::string>& skipped, std::int64_t batch, std::int64_t n,
                           const PlotOutcome& plots) {
  const std::int64_t seq_len = config.seq_lens.front();
  std::string md = fmt::format(
      "\n## Attention introspection (--inspect)\n\n"
      "The final weights (seed {}) read one held-out batch of {} sequences of {} tokens, each copying n = {} symbols. "
      "For every head: the attention matrix (softmax: softmax(QK^T/sqrt(d)) under the causal mask; linear: "
      "phi(Q) phi(K)^T under the causal mask, each row divided by its sum) and its entropy (mean over queries, nats; "
      "a causal row spread evenly would average {:.3f}), effective rank (exp of the entropy of the normalised "
      "singular values, 1 to {}) and copy-diagonal mass (the mean weight a query of the copy puts on the position "
      "it copies), each the mean over the batch's sequences. attention_metrics.csv has every head; per layer, the "
      "means over its heads:\n\n"
      "| kind | layer | entropy | effective rank | copy-diagonal mass | best head's copy-diagonal mass |\n"
      "| --- | --- | --- | --- | --- | --- |\n",
      config.seed, batch, seq_len, n, std::lgamma(static_cast<double>(seq_len + 1)) / static_cast<double>(seq_len),
      seq_len);
  for (const auto& k : kinds) {
    for (std::size_t layer = 0; layer < k.matrices.size(); ++layer) {
      const auto l = static_cast<std::int64_t>(layer);
      double best = 0;
      for (const auto& m : k.heads)
        if (m.layer == l) best = std::max(best, m.copy_diagonal_mass);
      md += fmt::format("| {} | {} | {:.3f} | {:.2f} | {:.3f} | {:.3f} |\n", nn::attention_kind_name(k.kind), layer,
                        mean_over_heads(k, [](const HeadMetrics& m) { return m.entropy; }, l),
                        mean_over_heads(k, [](const HeadMetrics& m) { return m.effective_rank; }, l),
                        mean_over_heads(k, [](const HeadMetrics& m) { return m.copy_diagonal_mass; }, l), best);
    }
  }
  md += "\n";
  for (const auto& s : skipped) md += s + "\n\n";
  const KindInspection *lin = nullptr, *soft = nullptr;
  for (const auto& k : kinds) (k.kind == nn::AttentionKind::Linear ? lin : soft) = &k;
  if (lin && soft) md += comparison_paragraph(*lin, *soft, config);
  else md += "Only one attention kind was inspected, so there is no comparison.\n";
  if (plots.note) {
    md += "\nHeat maps: " + *plots.note + ".\n";
  } else {
    md += "\n";
    for (const auto& k : kinds)
      for (std::size_t layer = 0; layer < k.matrices.size(); ++layer)
        md += fmt::format("![{0} attention, layer {1}](attention_{0}_layer{1}.png)\n\n",
                          nn::attention_kind_name(k.kind), layer);
  }
  return md;
}

}  // namespace

InspectionOutcome inspect_attention(const Config& config, const std::vector<RunResult>& runs) {
  const std::int64_t seq_len = config.seq_lens.front();
  const PaperLayout layout = paper_layout(seq_len);
  const std::int64_t n = layout.max_n;
  const LmBatch batch = make_lm_batch(config.seed ^ kInspectSeedOffset, 0, config.batch, seq_len, n);
  const std::vector<std::int64_t> sources = copy_sources(seq_len, n);
  std::vector<KindInspection> kinds;
  std::vector<std::string> skipped;
  for (auto kind : config.kinds) {
    const auto run = std::find_if(runs.begin(), runs.end(), [&](const RunResult& r) {
      return r.kind == kind && r.seq_len == seq_len && r.seed == config.seed;
    });
    if (run == runs.end() || run->diverged) {
      skipped.push_back(fmt::format("{} attention is not inspected: its run (seed {}) diverged and left no final "
                                    "weights.", nn::attention_kind_name(kind), config.seed));
      continue;
    }
    kinds.push_back(inspect_kind(config, kind, batch, sources));
  }
  if (kinds.size() == 2) compare_kinds(kinds[0], kinds[1]);
  try {
    nn::write_file_atomically(config.out + "/attention_metrics.csv", metrics_csv(kinds));
  } catch (const Error& e) {
    environment_failure("{}", e.what());
  }
  InspectionOutcome outcome;
  outcome.plots = draw_heat_maps(config, kinds, sources, n);
  outcome.report = report_section(config, kinds, skipped, config.batch, n, outcome.plots);
  return outcome;
}

}  // namespace copy_task
