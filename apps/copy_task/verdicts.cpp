// Claim verdicts from the run's numbers (see verdicts.h).
#include "verdicts.h"

#include <algorithm>
#include <cmath>

#include "report.h"
#include "seed_stats.h"
#include "seed_study.h"

using namespace ember;

namespace copy_task {

namespace {

// "99.80%" for one seed, "99.80 ± 0.20%" (mean ± 95 % half-width, in points) for several.
std::string fmt_percent(const SeedSummary& s) {
  if (!s.half_width) return fmt::format("{:.2f}%", 100 * s.mean);
  return fmt::format("{:.2f} ± {:.2f}%", 100 * s.mean, 100 * *s.half_width);
}

SeedSummary held_out_accuracy(const SeedGroup& group) {
  std::vector<double> values;
  for (const auto& r : group.runs) values.push_back(r.eval.token_acc);
  return summarize(values);
}

ClaimVerdict judge_convergence(const std::vector<RunResult>& runs) {
  ClaimVerdict v{"1. Linear attention converges stably to the same performance as softmax (paper; seed)",
                 Verdict::NotEnoughEvidence, "", ""};
  v.threshold = fmt::format(
      "every run (every seed) >= {} steps, not diverged, >= {:.0f}% held-out token accuracy; at each N the kinds' "
      "mean held-out token accuracies over the seeds, their distance gap and the half-widths h of their 95 % "
      "intervals (0 with one seed): supported when gap + h_softmax + h_linear <= {:.0f} point(s) at every N, not "
      "supported when gap - h_softmax - h_linear > {:.0f} point(s) at some N",
      kMinimumSteps, 100 * kMinimumAccuracy, 100 * kSameAccuracy, 100 * kSameAccuracy);
  std::vector<std::string> too_weak;
  for (const auto& r : runs)
    if (r.diverged || r.steps < kMinimumSteps || r.eval.token_acc < kMinimumAccuracy)
      too_weak.push_back(fmt::format("{} N={} seed {} ({} steps{}, {:.1f}% held-out)", nn::attention_kind_name(r.kind),
                                     r.seq_len, r.seed, r.steps, r.diverged ? ", diverged" : "",
                                     100 * r.eval.token_acc));
  bool compared = false, same_everywhere = true, differ_somewhere = false;
  std::vector<std::string> gaps;
  const auto groups = seed_groups(runs);
  for (const auto& softmax : groups)
    for (const auto& linear : groups) {
      if (softmax.kind != nn::AttentionKind::Softmax || linear.kind != nn::AttentionKind::Linear ||
          softmax.seq_len != linear.seq_len)
        continue;
      compared = true;
      const SeedSummary s = held_out_accuracy(softmax), l = held_out_accuracy(linear);
      const double gap = std::abs(s.mean - l.mean), spread = s.half_width.value_or(0) + l.half_width.value_or(0);
      same_everywhere = same_everywhere && gap + spread <= kSameAccuracy;
      differ_somewhere = differ_somewhere || gap - spread > kSameAccuracy;
      gaps.push_back(fmt::format("N={}: gap {:.2f} points (softmax {}, linear {})", softmax.seq_len, 100 * gap,
                                 fmt_percent(s), fmt_percent(l)));
    }
  if (!compared) {
    v.evidence = "only one attention kind was trained";
  } else if (!too_weak.empty()) {
    v.evidence = fmt::format("runs too weak to compare: {}", fmt::join(too_weak, ", "));
  } else {
    v.verdict = same_everywhere    ? Verdict::Supported
                : differ_somewhere ? Verdict::NotSupported
                                   : Verdict::NotEnoughEvidence;
    const std::string per_n = fmt::format("{}", fmt::join(gaps, "; "));
    v.evidence =
        v.verdict == Verdict::NotEnoughEvidence ? "the 95 % intervals are too wide to decide: " + per_n : per_n;
  }
  return v;
}

ClaimVerdict judge_exponent(const std::vector<TimingRow>& timing, const std::string& kind, double claimed) {
  ClaimVerdict v{fmt::format("2. {} attention's time grows as N^{:g} (paper)", kind == "linear" ? "Linear" : "Softmax",
                             claimed),
                 Verdict::NotEnoughEvidence, "", ""};
  v.threshold = fmt::format("attention alone, k of time ~ N^k over the larger half of the sweep, reaching N >= {}; "
                            "supported when k is within {:g} of {:g}", kExponentMinimumN, kExponentTolerance, claimed);
  auto points = measured_seconds(timing, "attention", kind);
  auto k = scaling_exponent(timing, "attention", kind);
  if (timing.empty()) {
    v.evidence = "the timing sweep was not run";
  } else if (!k) {
    v.evidence = fmt::format("too few timing points ({})", points.size());
  } else if (points.rbegin()->first < kExponentMinimumN) {
    v.evidence = fmt::format("k = {:.2f}, but the sweep stopped at N={}", *k, points.rbegin()->first);
  } else {
    v.verdict = std::abs(*k - claimed) <= kExponentTolerance ? Verdict::Supported : Verdict::NotSupported;
    v.evidence = fmt::format("k = {:.2f} up to N={}", *k, points.rbegin()->first);
  }
  return v;
}

// Whether the measured crossover of `scope` lies within kCrossoverFactor of `claimed`.
ClaimVerdict judge_crossover(const std::vector<TimingRow>& timing, const std::string& scope, double claimed,
                             std::string claim) {
  ClaimVerdict v{std::move(claim), Verdict::NotEnoughEvidence, "", ""};
  const double low = claimed / kCrossoverFactor, high = claimed * kCrossoverFactor;
  v.threshold = fmt::format("{}, measured crossover in [{:g}, {:g}] (within {:g}x of {:g})",
                            scope == "model" ? "whole model" : "attention alone", low, high, kCrossoverFactor, claimed);
  Crossover c = find_crossover(timing, scope);
  if (timing.empty()) {
    v.evidence = "the timing sweep was not run";
  } else if (c.largest_both == 0) {
    v.evidence = c.note;
  } else if (c.n) {
    v.verdict = double(*c.n) >= low && double(*c.n) <= high ? Verdict::Supported : Verdict::NotSupported;
    v.evidence = c.note;
  } else if (double(c.largest_both) > high) {
    v.verdict = Verdict::NotSupported;
    v.evidence = c.note;
  } else {
    v.evidence = fmt::format("{}; deciding needs a sweep past N={:g}", c.note, high);
  }
  return v;
}

ClaimVerdict judge_slowdown(const std::vector<TimingRow>& timing) {
  double seed_low = 1e300, seed_high = 0;
  for (const auto& row : kSeedTable1) {
    seed_low = std::min(seed_low, row.linear_s / row.softmax_s);
    seed_high = std::max(seed_high, row.linear_s / row.softmax_s);
  }
  ClaimVerdict v{fmt::format("3. Linear attention is {:.1f}-{:.1f}x slower than softmax at N = 8..64 (seed's Table 1)",
                             seed_low, seed_high),
                 Verdict::NotEnoughEvidence, "", ""};
  const double low = seed_low / kSlowdownBandFactor, high = seed_high * kSlowdownBandFactor;
  v.threshold = fmt::format("whole model, linear/softmax time at every N of 8, 16, 32, 64 in [{:.2f}, {:.1f}] (the "
                            "seed's range widened {:g}x)", low, high, kSlowdownBandFactor);
  if (timing.empty()) {
    v.evidence = "the timing sweep was not run";
    return v;
  }
  auto soft = measured_seconds(timing, "model", "softmax"), lin = measured_seconds(timing, "model", "linear");
  std::vector<std::string> ratios;
  bool inside = true;
  for (const auto& row : kSeedTable1) {
    if (!soft.count(row.n) || !lin.count(row.n)) {
      v.evidence = fmt::format("N={} was not measured for both kinds", row.n);
      return v;
    }
    const double ratio = lin[row.n] / soft[row.n];
    inside = inside && ratio >= low && ratio <= high;
    ratios.push_back(fmt::format("{:.2f}x at N={}", ratio, row.n));
  }
  v.verdict = inside ? Verdict::Supported : Verdict::NotSupported;
  v.evidence = "linear/softmax " + fmt::format("{}", fmt::join(ratios, ", "));
  return v;
}

}  // namespace

std::string verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::Supported: return "supported";
    case Verdict::NotSupported: return "not supported";
    case Verdict::NotEnoughEvidence: return "not enough evidence";
  }
  return "";
}

std::vector<ClaimVerdict> judge_claims(const std::vector<RunResult>& runs, const std::vector<TimingRow>& timing) {
  return {judge_convergence(runs),
          judge_exponent(timing, "linear", 1),
          judge_exponent(timing, "softmax", 2),
          judge_crossover(
              timing, "attention", kPaperCrossover,
              fmt::format("3. Linear attention is faster than softmax from N = {} (paper)", kPaperCrossover)),
          judge_crossover(timing, "model", kSeedCrossover,
                          fmt::format("3. Linear attention is faster than softmax from N = {:g} (seed's extrapolation)",
                                      kSeedCrossover)),
          judge_slowdown(timing)};
}

}  // namespace copy_task
