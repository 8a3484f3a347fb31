// The claims the copy task tests, each judged from this run's own numbers against a threshold
// stated here: "supported", "not supported", or "not enough evidence" with the reason (a sweep
// not run, runs too short to have learnt the copy, a sweep that stopped below the N in question,
// confidence intervals too wide to decide). The thresholds are named constants and report.md
// prints them beside each verdict. Claim 1 uses every seed (--seeds): it compares the kinds' mean
// held-out accuracies over the seeds, each with its 95 % confidence interval (seed_stats.h).
#pragma once

#include <string>
#include <vector>

#include "sweep.h"
#include "trainer.h"

namespace copy_task {

// Claim 1: a comparison needs every run (every seed) to train this long and learn the copy this
// well, ...
inline constexpr std::int64_t kMinimumSteps = 100;
inline constexpr double kMinimumAccuracy = 0.9;
// ... and the kinds perform the same when their mean held-out token accuracies differ by at most
// this even at the far ends of their 95 % intervals: gap + h_softmax + h_linear <= kSameAccuracy
// at every N (gap: the distance of the means; h: an interval's half-width, 0 with one seed). They
// differ when even the near ends do, gap - h_softmax - h_linear > kSameAccuracy at some N;
// otherwise the intervals are too wide to say.
inline constexpr double kSameAccuracy = 0.01;
// Claim 2: a fitted exponent k of time ~ N^k (attention alone, larger half of the sweep) matches
// the claimed 1 or 2 within this, and is only judged when the fit reaches this N (below it the
// N-linear projections hide the attention's own growth).
inline constexpr double kExponentTolerance = 0.25;
inline constexpr std::int64_t kExponentMinimumN = 512;
// Claims on a crossover: the measured one must lie within this factor of the claimed N.
inline constexpr double kCrossoverFactor = 2.0;
inline constexpr std::int64_t kPaperCrossover = 512;  // Katharopoulos et al. (2020), attention alone
// The seed's slowdown of linear attention at N = 8..64 (7.9x to 24.2x, seed_study.h): Ember's
// ratio at each of those N must lie in the seed's range widened by this factor on each side.
inline constexpr double kSlowdownBandFactor = 2.0;

enum class Verdict { Supported, NotSupported, NotEnoughEvidence };
std::string verdict_name(Verdict verdict);

struct ClaimVerdict {
  std::string claim;
  Verdict verdict = Verdict::NotEnoughEvidence;
  std::string evidence;   // the numbers that decided it, or why there are none
  std::string threshold;  // the rule, with its numbers
};

std::vector<ClaimVerdict> judge_claims(const std::vector<RunResult>& runs, const std::vector<TimingRow>& timing);

}  // namespace copy_task
