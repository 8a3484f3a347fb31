// Accuracies of the copy-task models, shared by every CopyModel: teacher-forced on the scored
// targets of a training batch, and token by token over sequences the model generated itself.
#pragma once

#include <atomic>
#include <functional>

#include <ember/ember.h>

#include "model.h"  // EvalResult

namespace copy_task {

// Accuracy of argmax(logits) (..., V) on the targets (...) that are not kIgnore.
double scored_accuracy(const ember::Tensor& logits, const ember::Tensor& targets);

// One held-out batch: what the model generated and what it should have, both (B, L).
struct Generated {
  ember::Tensor generated, expected;
};

// Greedy evaluation over ceil(sequences / batch) batches: generate(k) produces batch k, and the
// token and whole-sequence accuracies are counted over all of them. Stops before the next batch,
// marked interrupted (accuracies then unset), once `stop` is set.
EvalResult evaluate_batches(std::int64_t sequences, std::int64_t batch, const std::atomic<bool>& stop,
                            const std::function<Generated(std::int64_t k, std::int64_t batches)>& generate);

}  // namespace copy_task
