// The README's first program: logistic regression trained by hand-written SGD on the raw API.
// Exits non-zero if the loss does not fall, so the test suite runs it as a check.
#include <ember/ember.h>
using namespace ember;

int main() {
  manual_seed(0);
  Tensor w = randn({4, 3}).requires_grad_(), x = randn({16, 4});
  Tensor y = randint(0, 3, {16});
  float first = 0, last = 0;
  for (int i = 0; i < 100; ++i) {
    Tensor loss = cross_entropy(matmul(x, w), y);
    loss.backward();
    { NoGradGuard g; w.sub_(w.grad() * 0.5); }
    w.grad().zero_();
    if (i % 20 == 0) fmt::print("{}\n", loss.item<float>());
    (i == 0 ? first : last) = loss.item<float>();
  }
  return last < first ? 0 : 1;
}
