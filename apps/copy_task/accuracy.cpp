// Accuracies of the copy-task models (see accuracy.h).
#include "accuracy.h"

#include "data.h"  // kIgnore

using namespace ember;

namespace copy_task {

double scored_accuracy(const Tensor& logits, const Tensor& targets) {
  NoGradGuard no_grad;
  Tensor predicted = argmax(logits, -1);
  Tensor scored = ne(targets, full({}, static_cast<double>(kIgnore), TensorOptions(kInt64, targets.device())));
  double total = sum(scored).item<double>();
  return total > 0 ? sum(mul(eq(predicted, targets), scored)).item<double>() / total : 0.0;
}

void add_accuracy(const Tensor& generated, const Tensor& expected, EvalResult& result, double& correct_tokens,
                  double& total_tokens, double& exact) {
  Tensor right = eq(generated, expected.to(generated.device()));
  correct_tokens += sum(right).item<double>();
  total_tokens += static_cast<double>(right.numel());
  exact += sum(eq(sum(right, {1}), full({}, static_cast<double>(right.size(1)), kInt64))).item<double>();
  result.sequences += generated.size(0);
}

}  // namespace copy_task
