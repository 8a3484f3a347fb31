// Anomaly mode: off by default and per thread; when on, the op (forward) or backward node that
// first produces a NaN or an infinity is named, while -inf masks used on purpose pass.
#include <thread>

#include "helpers.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("anomaly: off by default, a NaN flows through silently") {
  CHECK_FALSE(autograd::is_detect_anomaly_enabled());
  Tensor x = tensor({-1.0, 1.0}, kFloat64).requires_grad_();
  Tensor y = sum(log(x));  // log(-1) = NaN
  CHECK(std::isnan(y.item<double>()));
  y.backward();
}

TEST_CASE("anomaly: forward names the op that made a NaN or an infinity") {
  autograd::DetectAnomalyGuard guard;
  Tensor x = tensor({-1.0, 1.0}, kFloat64).requires_grad_();
  CHECK_ERROR_CONTAINS(log(x), "anomaly detected in forward", "log", "NaN", "[2]");
  Tensor z = tensor({0.0, 1.0}, kFloat64).requires_grad_();
  CHECK_ERROR_CONTAINS(log(z), "forward", "log", "-inf");
  CHECK_ERROR_CONTAINS(exp(z * 1000.0), "forward", "exp", "+inf");
  CHECK_ERROR_CONTAINS(div(ones({2}, kFloat64), z), "forward", "div", "+inf");
}

TEST_CASE("anomaly: backward names the node whose gradient turned non-finite") {
  autograd::DetectAnomalyGuard guard;
  // sqrt(0) = 0 is fine forward; its gradient 1 / (2 sqrt(0)) is not.
  Tensor x = tensor({0.0, 4.0}, kFloat64).requires_grad_();
  Tensor y = sum(sqrt(x));
  CHECK_ERROR_CONTAINS(y.backward(), "anomaly detected in backward", "sqrt", "+inf", "[2]");
  // A non-finite seed gradient is blamed on the caller.
  Tensor w = ones({2}, kFloat64).requires_grad_();
  Tensor v = w * 2.0;
  CHECK_ERROR_CONTAINS(v.backward(tensor({1.0, NAN}, kFloat64)), "backward", "gradient passed to backward()", "NaN");
}

TEST_CASE("anomaly: -inf attention masks are not anomalies, a fully masked row is") {
  autograd::DetectAnomalyGuard guard;
  Tensor scores = randn({2, 3, 3}, kFloat64).requires_grad_();
  Tensor causal = triu(ones({3, 3}, kFloat64), 1);
  Tensor masked = masked_fill(scores, causal, -INFINITY);  // -inf comes from the fill value
  sum(softmax(masked, -1) * randn({2, 3, 3}, kFloat64)).backward();
  CHECK(scores.grad().defined());
  // Masking a whole row makes softmax divide 0 by 0: NaN out of inputs without NaN.
  Tensor all = masked_fill(scores, ones({3, 3}, kFloat64), -INFINITY);
  CHECK_ERROR_CONTAINS(softmax(all, -1), "forward", "softmax", "NaN", "[2, 3, 3]");
}

TEST_CASE("anomaly: a causal softmax attention layer trains through a step without alarms") {
  autograd::DetectAnomalyGuard guard;
  manual_seed(3);
  nn::MultiHeadAttention attn(8, 2, {.kind = nn::AttentionKind::Softmax, .causal = true});
  Tensor x = randn({2, 5, 8});
  sum(attn.forward(x, x, x, from_vector<std::int64_t>({5, 3}))).backward();
  CHECK(attn.q->weight.grad().defined());
}

TEST_CASE("anomaly: the guard restores the previous setting and the switch is per thread") {
  {
    autograd::DetectAnomalyGuard on;
    CHECK(autograd::is_detect_anomaly_enabled());
    {
      autograd::DetectAnomalyGuard off(false);
      CHECK_FALSE(autograd::is_detect_anomaly_enabled());
    }
    CHECK(autograd::is_detect_anomaly_enabled());
    bool other_thread = true;
    std::thread([&] { other_thread = autograd::is_detect_anomaly_enabled(); }).join();
    CHECK_FALSE(other_thread);
  }
  CHECK_FALSE(autograd::is_detect_anomaly_enabled());
  autograd::set_detect_anomaly(true);
  CHECK(autograd::is_detect_anomaly_enabled());
  autograd::set_detect_anomaly(false);
}
