// A 2-layer MLP learning a synthetic 3-class problem (the label is which of three fixed random
// directions the input points most along). Shows the whole training loop on the raw tensor API:
// forward, cross_entropy, backward, an SGD step under NoGradGuard, and a falling loss.
#include <ember/ember.h>

using namespace ember;

int main() {
  manual_seed(0);
  const std::int64_t n = 512, in = 16, hidden = 64, classes = 3;
  Tensor directions = randn({in, classes});
  Tensor x = randn({n, in});
  Tensor y = argmax(matmul(x, directions), 1);

  Tensor w1 = (randn({in, hidden}) * (1.0 / std::sqrt(double(in)))).requires_grad_();
  Tensor b1 = zeros({hidden}).requires_grad_();
  Tensor w2 = (randn({hidden, classes}) * (1.0 / std::sqrt(double(hidden)))).requires_grad_();
  Tensor b2 = zeros({classes}).requires_grad_();
  std::vector<Tensor> params{w1, b1, w2, b2};

  for (int step = 0; step <= 300; ++step) {
    Tensor logits = matmul(relu(matmul(x, w1) + b1), w2) + b2;
    Tensor loss = cross_entropy(logits, y);
    loss.backward();
    {
      NoGradGuard no_grad;
      for (auto& p : params) {
        p.sub_(p.grad() * 0.5);
        p.grad().zero_();
      }
    }
    if (step % 50 == 0) {
      NoGradGuard no_grad;
      double accuracy = mean(eq(argmax(logits, 1), y).to(kFloat32)).item<double>();
      fmt::print("step {:3d}  loss {:.4f}  accuracy {:.3f}\n", step, loss.item<float>(), accuracy);
    }
  }
}
