// Accuracies of the copy-task models, shared by every CopyModel: teacher-forced on the scored
// targets of a training batch, and token by token over sequences the model generated itself.
#pragma once

#include <ember/ember.h>

#include "model.h"  // EvalResult

namespace copy_task {

// Accuracy of argmax(logits) (..., V) on the targets (...) that are not kIgnore.
double scored_accuracy(const ember::Tensor& logits, const ember::Tensor& targets);

// Adds generated (B, L) against expected (B, L) to the running counts: correct and total tokens,
// whole sequences right (exact), and result.sequences.
void add_accuracy(const ember::Tensor& generated, const ember::Tensor& expected, EvalResult& result,
                  double& correct_tokens, double& total_tokens, double& exact);

}  // namespace copy_task
