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

EvalResult evaluate_batches(std::int64_t sequences, std::int64_t batch, const std::atomic<bool>& stop,
                            const std::function<Generated(std::int64_t k, std::int64_t batches)>& generate) {
  EvalResult result;
  double correct = 0, total = 0, exact = 0;
  const std::int64_t batches = (sequences + batch - 1) / batch;
  for (std::int64_t k = 0; k < batches; ++k) {
    if (stop.load()) {
      result.interrupted = true;
      return result;
    }
    const Generated g = generate(k, batches);
    Tensor right = eq(g.generated, g.expected.to(g.generated.device()));  // (B, L)
    correct += sum(right).item<double>();
    total += static_cast<double>(right.numel());
    exact += sum(eq(sum(right, {1}), full({}, static_cast<double>(right.size(1)), kInt64))).item<double>();
    result.sequences += g.generated.size(0);
  }
  result.token_acc = correct / total;
  result.exact_acc = exact / static_cast<double>(result.sequences);
  return result;
}

}  // namespace copy_task
