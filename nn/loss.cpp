// masked_cross_entropy: a mask turned into ignore_index targets, then the fused kernel.
#include "nn/loss.h"

#include "core/factory.h"
#include "ops/elementwise.h"

namespace ember::nn {

Tensor masked_cross_entropy(const Tensor& logits, const Tensor& targets, const Tensor& mask,
                            double label_smoothing) {
  EMBER_CHECK(targets.defined(), "masked_cross_entropy: undefined targets");
  EMBER_CHECK(mask.defined() && mask.shape() == targets.shape(),
              "masked_cross_entropy: mask of shape {} must match targets {}", mask.defined() ? mask.shape() : Shape{},
              targets.shape());
  CrossEntropyOptions options;
  options.label_smoothing = label_smoothing;
  Tensor ignored = full({}, static_cast<double>(options.ignore_index), TensorOptions(kInt64, targets.device()));
  Tensor kept = ne(mask.to(kInt64), zeros({}, TensorOptions(kInt64, mask.device())));
  return cross_entropy(logits, where(kept, targets, ignored), options);
}

}  // namespace ember::nn
