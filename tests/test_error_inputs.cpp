// Error inputs, OpInfo style: one table of bad calls to every public op and module, each with the
// fragments its ember::Error message must contain (the op's name and the offending shape, dtype,
// device or value). A walker runs every row and requires exactly an ember::Error: no crash, no
// std::exception of another kind, no silent success. Rows that need a CUDA tensor (mixed-device
// calls) are skipped, with their reason printed, where no GPU is usable; rows about CUDA being
// unavailable are skipped where it is.
//
// Adding an op: add its rows here. `ctest -R "error inputs" -V` prints how many rows ran.
#include <filesystem>
#include <limits>
#include <unistd.h>

#include "helpers.h"

using namespace ember;
using namespace ember::testing;

namespace {

enum class Needs { Nothing, Cuda, NoCuda };

struct ErrorRow {
  std::string what;  // the op or module, and what is wrong with the input
  std::function<void()> call;
  std::vector<std::string> fragments;
  Needs needs = Needs::Nothing;
};

constexpr std::int64_t kHuge = std::int64_t{1} << 40;
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

Tensor i64(std::vector<std::int64_t> values) { return from_vector(values); }
Tensor cuda2() { return zeros({2}, kCUDA); }

nn::TransformerConfig tiny(nn::AttentionKind kind = nn::AttentionKind::Softmax) {
  nn::TransformerConfig c;
  c.vocab_size = 11;
  c.d_model = 8;
  c.heads = 2;
  c.d_ff = 16;
  c.encoder_layers = 1;
  c.decoder_layers = 1;
  c.dropout = 0.0;
  c.attention = kind;
  return c;
}

// A safetensors image: the length prefix, `header`, then `data_bytes` zero bytes of data.
std::string safetensors_image(const std::string& header, std::size_t data_bytes) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  return out + header + std::string(data_bytes, '\0');
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / fmt::format("ember_error_inputs_{}_{}", ::getpid(), name)).string();
}

std::vector<ErrorRow> error_table() {
  return {
      // ---- tensors, factories, autograd entry points
      {"empty: negative size", [] { empty({2, -1}); }, {"empty", "negative dimension -1", "[2, -1]"}},
      {"zeros: element count past int64",
       [] { zeros({kHuge, kHuge}); },
       {"empty", "too large", "[1099511627776, 1099511627776]"}},
      {"zeros: byte count past size_t",
       [] { zeros({std::int64_t{1} << 62}, kFloat64); },
       {"empty", "too large", "[4611686018427387904]"}},
      {"zeros: more memory than exists", [] { zeros({std::int64_t{1} << 50}); }, {"out of memory", "4503599627370496 bytes"}},
      {"full: negative size", [] { full({-3}, 1.0); }, {"empty", "negative", "[-3]"}},
      {"arange: zero step", [] { arange(0, 5, 0); }, {"arange", "step 0"}},
      {"arange: infinite end", [] { arange(0, INFINITY, 1); }, {"arange", "inf", "finite"}},
      {"arange: backwards range", [] { arange(5, 0, 1); }, {"arange", "[5, 0)", "wrong way"}},
      {"arange: too many elements", [] { arange(0, 1e30, 1); }, {"arange", "too many elements"}},
      {"from_vector: values do not fill the shape",
       [] { from_vector<float>({1, 2, 3}, {2, 2}); },
       {"from_vector", "3 values", "[2, 2]"}},
      {"from_vector: shape past int64", [] { from_vector<float>({}, {kHuge, kHuge, 0}); }, {"from_vector", "too large"}},
      {"randn: int64 dtype", [] { randn({2}, kInt64); }, {"randn", "int64"}},
      {"rand: int64 dtype", [] { rand({2}, kInt64); }, {"rand", "int64"}},
      {"randint: empty range", [] { randint(5, 5, {2}); }, {"randint", "[5, 5)"}},
      {"randn: negative size", [] { randn({-2}); }, {"empty", "negative", "[-2]"}},
      {"item: more than one element", [] { zeros({2}).item<float>(); }, {"item", "[2]", "2 elements"}},
      {"data_ptr: wrong element type", [] { zeros({2}).data_ptr<double>(); }, {"data_ptr", "[2]", "float32", "float64"}},
      {"requires_grad_: int64 tensor", [] { zeros({2}, kInt64).requires_grad_(); }, {"requires_grad_", "int64"}},
      {"requires_grad_: non-leaf",
       [] { (ones({2}).requires_grad_() * 2.0).requires_grad_(false); },
       {"requires_grad_", "leaf", "[2]"}},
      {"set_grad: wrong shape", [] { zeros({2}).set_grad(zeros({3})); }, {"set_grad", "[3]", "[2]"}},
      {"backward: implicit gradient of a non-scalar",
       [] { (ones({2}).requires_grad_() * 2.0).backward(); },
       {"backward", "[2]", "single-element"}},
      {"backward: gradient of the wrong shape",
       [] { (ones({2}).requires_grad_() * 2.0).backward(ones({3})); },
       {"backward", "[3]", "[2]"}},
      {"backward: tensor without grad", [] { zeros({}).backward(); }, {"backward", "does not require grad"}},
      {"backward: twice without retain_graph",
       [] { Tensor y = sum(exp(ones({2}, kFloat64).requires_grad_())); y.backward(); y.backward(); },
       {"backward", "second time", "sum", "retain_graph"}},
      {"set_num_threads: zero", [] { set_num_threads(0); }, {"set_num_threads", "0"}},
      {"gradcheck: float32 input",
       [] { autograd::gradcheck([](const std::vector<Tensor>& in) { return in[0] * 2.0; }, {ones({2}).requires_grad_()}); },
       {"gradcheck", "float32", "[2]", "float64"}},
      {"zeros: CUDA without a usable GPU", [] { cuda2(); }, {"CUDA"}, Needs::NoCuda},
      {"to: CUDA without a usable GPU", [] { zeros({2}).to(kCUDA); }, {"CUDA"}, Needs::NoCuda},

      // ---- elementwise
      {"add: shapes that do not broadcast",
       [] { add(zeros({2, 3}), zeros({4})); },
       {"add", "[2, 3]", "[4]", "cannot be broadcast"}},
      {"sub: dtype mismatch", [] { sub(zeros({2}), zeros({2}, kFloat64)); }, {"sub", "dtype mismatch", "float32", "float64"}},
      {"mul: undefined operand", [] { mul(Tensor(), ones({2})); }, {"mul", "undefined"}},
      {"div: int64 divided by a scalar", [] { div(zeros({2}, kInt64), 2.0); }, {"div", "int64", "[2]"}},
      {"rdiv: int64 tensor", [] { rdiv(zeros({2}, kInt64), 1.0); }, {"rdiv", "int64", "[2]"}},
      {"exp: int64 tensor", [] { exp(zeros({2}, kInt64)); }, {"exp", "int64", "[2]"}},
      {"log: undefined tensor", [] { log(Tensor()); }, {"log", "undefined"}},
      {"pow: int64 tensor", [] { pow(zeros({3}, kInt64), 2.0); }, {"pow", "int64", "[3]"}},
      {"gelu: int64 tensor", [] { gelu(zeros({3}, kInt64)); }, {"gelu", "int64", "[3]"}},
      {"gt: shapes that do not broadcast", [] { gt(zeros({2}), zeros({3})); }, {"gt", "[2]", "[3]"}},
      {"where: condition that does not broadcast", [] { where(ones({2}), zeros({3}), zeros({3})); }, {"where", "[2]", "[3]"}},
      {"where: values of two dtypes",
       [] { where(ones({2}), zeros({2}), zeros({2}, kFloat64)); },
       {"where", "float32", "float64"}},
      {"masked_fill: mask larger than the input",
       [] { masked_fill(zeros({2}), ones({3, 2}), 1.0); },
       {"masked_fill", "[3, 2]", "[2]"}},
      {"add_: in place on a tensor that requires grad",
       [] { ones({2}).requires_grad_().add_(ones({2})); },
       {"add_", "requires grad", "[2]"}},
      {"add_: source larger than the destination", [] { zeros({2}).add_(zeros({3, 2})); }, {"add_", "[3, 2]", "[2]"}},
      {"copy_: source that does not broadcast", [] { zeros({2}).copy_(zeros({3})); }, {"copy_", "[3]", "[2]"}},
      {"add: mixed devices", [] { add(zeros({2}), cuda2()); }, {"add", "different devices", "cpu", "cuda:0"}, Needs::Cuda},

      // ---- reductions
      {"sum: dim out of range", [] { sum(zeros({2, 3}), {2}); }, {"sum", "dim 2", "2 dims"}},
      {"sum: repeated dim", [] { sum(zeros({2, 3}), {1, -1}); }, {"sum", "repeated", "[1, -1]"}},
      {"sum: undefined tensor", [] { sum(Tensor()); }, {"sum", "undefined"}},
      {"mean: int64 tensor", [] { mean(zeros({2}, kInt64)); }, {"mean", "int64", "[2]"}},
      {"mean: over an empty dim", [] { mean(zeros({0, 3}), {0}); }, {"mean", "empty", "[0, 3]"}},
      {"max: over an empty dim", [] { max(zeros({0, 3}), {0}); }, {"max", "empty", "[0, 3]"}},
      {"argmax: over an empty dim", [] { argmax(zeros({0}), 0); }, {"argmax", "empty", "[0]"}},
      {"argmax: dim out of range", [] { argmax(zeros({2, 3}), 5); }, {"argmax", "dim 5"}},
      {"var: no degrees of freedom", [] { var(zeros({1, 3}), {0}); }, {"var", "correction 1", "[1, 3]"}},

      // ---- matmul
      {"matmul: inner dims differ",
       [] { matmul(zeros({2, 3}), zeros({4, 5})); },
       {"matmul", "[2, 3]", "[4, 5]", "inner dimensions 3 and 4"}},
      {"matmul: vectors of different lengths", [] { matmul(zeros({3}), zeros({4})); }, {"matmul", "[3]", "[4]", "3 and 4"}},
      {"matmul: 0-d operand", [] { matmul(zeros({}), zeros({2})); }, {"matmul", "[]", "[2]", "at least 1 dim"}},
      {"matmul: batch dims that do not broadcast", [] { matmul(zeros({2, 2, 3}), zeros({3, 3, 1})); }, {"matmul", "[2]", "[3]"}},
      {"matmul: dtype mismatch", [] { matmul(zeros({2, 3}), zeros({3}, kFloat64)); }, {"matmul", "float32", "float64", "[2, 3]"}},
      {"matmul: int64 operands", [] { matmul(zeros({2, 2}, kInt64), zeros({2, 2}, kInt64)); }, {"matmul", "int64", "[2, 2]"}},
      {"matmul: mixed devices",
       [] { matmul(zeros({2, 2}), zeros({2, 2}, kCUDA)); },
       {"matmul", "different devices", "cuda:0"}, Needs::Cuda},

      // ---- views
      {"reshape: wrong element count", [] { zeros({2, 3}).reshape({4, 2}); }, {"reshape", "[4, 2]", "6 elements"}},
      {"reshape: two inferred dims",
       [] { zeros({2, 3}).reshape({-1, -1}); },
       {"reshape", "only one dimension can be -1", "[-1, -1]"}},
      {"reshape: negative size", [] { zeros({2, 3}).reshape({-2, -3}); }, {"reshape", "negative dimension -2"}},
      {"reshape: size past int64", [] { zeros({0}).reshape({kHuge, kHuge, 0}); }, {"reshape", "too large"}},
      {"view: strides that need a copy", [] { zeros({2, 3}).t().view({6}); }, {"view", "[3, 2]", "[6]", "reshape"}},
      {"view: undefined tensor", [] { view(Tensor(), {2}); }, {"view", "undefined"}},
      {"flatten: start after end", [] { zeros({2, 3, 4}).flatten(2, 1); }, {"flatten", "start_dim 2", "end_dim 1"}},
      {"permute: repeated dim", [] { zeros({2, 3}).permute({0, 0}); }, {"permute", "repeated", "[0, 0]"}},
      {"permute: wrong number of dims", [] { zeros({2, 3}).permute({0}); }, {"permute", "1 dims", "[2, 3]"}},
      {"transpose: dim out of range", [] { zeros({2, 3}).transpose(0, 2); }, {"transpose", "dim 2", "2 dims"}},
      {"t: 3-d tensor", [] { zeros({2, 3, 4}).t(); }, {"t:", "2-D", "[2, 3, 4]"}},
      {"slice: zero step", [] { zeros({4}).slice(0, 0, 4, 0); }, {"slice", "step", "0"}},
      {"slice: undefined tensor", [] { slice(Tensor(), 0, 0, 1); }, {"slice", "undefined"}},
      {"narrow: past the end", [] { zeros({2, 3}).narrow(1, 2, 2); }, {"narrow", "start 2", "length 2", "[2, 3]"}},
      {"narrow: length that overflows", [] { zeros({2, 3}).narrow(1, 1, kMax); }, {"narrow", "out of range", "[2, 3]"}},
      {"select: index out of range", [] { zeros({2, 3}).select(1, 3); }, {"select", "index 3", "[2, 3]"}},
      {"unsqueeze: dim out of range", [] { zeros({2}).unsqueeze(3); }, {"unsqueeze", "dim 3"}},
      {"squeeze: dim out of range", [] { zeros({2}).squeeze(1); }, {"squeeze", "dim 1"}},
      {"expand: non-1 dim to another size", [] { zeros({2, 3}).expand({4, 3}); }, {"expand", "[2, 3]", "[4, 3]"}},
      {"expand: to fewer dims", [] { zeros({2, 3}).expand({3}); }, {"expand", "[2, 3]", "[3]", "fewer dims"}},
      {"expand: negative size", [] { zeros({1}).expand({-2}); }, {"expand", "negative dimension -2"}},
      {"expand: size past int64",
       [] { zeros({1, 1}).expand({kHuge, kHuge}); },
       {"expand", "too large", "[1099511627776, 1099511627776]"}},

      // ---- cat, stack, split, chunk, tril, triu
      {"cat: shapes differ outside the dim",
       [] { cat({zeros({2, 3}), zeros({2, 4})}, 0); },
       {"cat", "[2, 3]", "[2, 4]", "outside dim 0"}},
      {"cat: dtype mismatch", [] { cat({zeros({2}), zeros({2}, kFloat64)}); }, {"cat", "tensor 1", "float64", "float32"}},
      {"cat: different ranks", [] { cat({zeros({2}), zeros({2, 1})}); }, {"cat", "tensor 1", "[2, 1]"}},
      {"cat: empty list", [] { cat({}); }, {"cat", "non-empty"}},
      {"cat: dim out of range", [] { cat({zeros({2})}, 1); }, {"cat", "dim 1"}},
      {"cat: undefined element", [] { cat({zeros({2}), Tensor()}); }, {"cat", "tensor 1", "undefined"}},
      {"cat: mixed devices", [] { cat({zeros({2}), cuda2()}); }, {"cat", "tensor 1", "cuda:0"}, Needs::Cuda},
      {"stack: shapes differ", [] { stack({zeros({2}), zeros({3})}); }, {"stack", "tensor 1", "[3]", "[2]"}},
      {"stack: empty list", [] { stack({}); }, {"stack", "non-empty"}},
      {"split: zero split size", [] { split(zeros({3}), 0); }, {"split", "split_size", "0"}},
      {"chunk: zero chunks", [] { chunk(zeros({3}), 0); }, {"chunk", "chunks", "0"}},
      {"chunk: dim out of range", [] { chunk(zeros({3}), 2, 1); }, {"chunk", "dim 1"}},
      {"tril: 1-d tensor", [] { tril(zeros({3})); }, {"tril", "at least 2 dims", "[3]"}},
      {"triu: undefined tensor", [] { triu(Tensor()); }, {"triu", "undefined"}},

      // ---- softmax, layer_norm, embedding, cross_entropy, dropout
      {"softmax: int64 tensor", [] { softmax(zeros({2}, kInt64)); }, {"softmax", "int64", "[2]"}},
      {"log_softmax: dim out of range", [] { log_softmax(zeros({2, 3}), 2); }, {"log_softmax", "dim 2"}},
      {"softmax: undefined tensor", [] { softmax(Tensor()); }, {"softmax", "undefined"}},
      {"layer_norm: normalized_shape not trailing", [] { layer_norm(zeros({2, 3}), {4}); }, {"layer_norm", "[4]", "[2, 3]"}},
      {"layer_norm: empty normalized_shape", [] { layer_norm(zeros({2, 3}), {}); }, {"layer_norm", "[]", "[2, 3]"}},
      {"layer_norm: weight of the wrong shape", [] { layer_norm(zeros({2, 3}), {3}, ones({2})); }, {"layer_norm", "[2]", "[3]"}},
      {"layer_norm: weight of another dtype",
       [] { layer_norm(zeros({2, 3}), {3}, ones({3}, kFloat64)); },
       {"layer_norm", "float64", "float32"}},
      {"layer_norm: int64 input", [] { layer_norm(zeros({2, 3}, kInt64), {3}); }, {"layer_norm", "int64", "[2, 3]"}},
      {"layer_norm: zero-size normalized dim", [] { layer_norm(zeros({2, 0}), {0}); }, {"layer_norm", "empty", "[0]"}},
      {"layer_norm: weight on another device",
       [] { layer_norm(zeros({2, 2}), {2}, ones({2}, kCUDA)); },
       {"layer_norm", "cuda:0", "cpu"}, Needs::Cuda},
      {"embedding: index past the table",
       [] { embedding(zeros({5, 2}), i64({0, 5})); },
       {"embedding", "out of range", "[0, 5)", "[2]"}},
      {"embedding: negative index", [] { embedding(zeros({5, 2}), i64({-1, 2})); }, {"embedding", "out of range", "[-1, 2]"}},
      {"embedding: float indices", [] { embedding(zeros({5, 2}), zeros({2})); }, {"embedding", "int64", "float32", "[2]"}},
      {"embedding: 1-d weight", [] { embedding(zeros({5}), i64({0})); }, {"embedding", "(V, D)", "[5]"}},
      {"embedding: int64 weight", [] { embedding(zeros({5, 2}, kInt64), i64({0})); }, {"embedding", "floating", "int64"}},
      {"embedding: mixed devices",
       [] { embedding(zeros({5, 2}), zeros({2}, TensorOptions(kInt64, kCUDA))); },
       {"embedding", "cuda:0", "cpu"}, Needs::Cuda},
      {"cross_entropy: target past the classes",
       [] { cross_entropy(zeros({2, 3}), i64({0, 3})); },
       {"cross_entropy", "out of range", "[0, 3)"}},
      {"cross_entropy: targets of the wrong shape",
       [] { cross_entropy(zeros({2, 3}), i64({0, 1, 2})); },
       {"cross_entropy", "[2, 3]", "[3]"}},
      {"cross_entropy: float targets",
       [] { cross_entropy(zeros({2, 3}), zeros({2})); },
       {"cross_entropy", "int64", "float32", "[2]"}},
      {"cross_entropy: 0-d logits", [] { cross_entropy(zeros({}), i64({0}).reshape({})); }, {"cross_entropy", "(..., C)", "[]"}},
      {"cross_entropy: label smoothing above 1",
       [] { cross_entropy(zeros({2, 3}), i64({0, 1}), {.label_smoothing = 1.5}); },
       {"cross_entropy", "label_smoothing", "1.5"}},
      {"cross_entropy: mixed devices",
       [] { cross_entropy(zeros({2, 3}, kCUDA), i64({0, 1})); },
       {"cross_entropy", "cuda:0", "cpu"}, Needs::Cuda},
      {"masked_cross_entropy: mask of the wrong shape",
       [] { nn::masked_cross_entropy(zeros({1, 2, 3}), zeros({1, 2}, kInt64), ones({2})); },
       {"masked_cross_entropy", "[2]", "[1, 2]"}},
      {"masked_cross_entropy: undefined targets",
       [] { nn::masked_cross_entropy(zeros({1, 2, 3}), Tensor(), ones({1, 2})); },
       {"masked_cross_entropy", "undefined"}},
      {"dropout: probability above 1", [] { dropout(zeros({2}), 1.5, true); }, {"dropout", "1.5"}},
      {"dropout: negative probability", [] { dropout(zeros({2}), -0.1, true); }, {"dropout", "-0.1"}},
      {"dropout: int64 tensor", [] { dropout(zeros({2}, kInt64), 0.5, true); }, {"dropout", "int64", "[2]"}},
      {"dropout: undefined tensor", [] { dropout(Tensor(), 0.5, true); }, {"dropout", "undefined"}},

      // ---- causal linear attention
      {"causal_linear_attention: 3-d inputs",
       [] { causal_linear_attention(zeros({1, 4, 2}), zeros({1, 4, 2}), zeros({1, 4, 2})); },
       {"causal_linear_attention", "(B, H, N, D)", "[1, 4, 2]"}},
      {"causal_linear_attention: q and k differ",
       [] { causal_linear_attention(zeros({1, 1, 4, 2}), zeros({1, 1, 4, 3}), zeros({1, 1, 4, 2})); },
       {"causal_linear_attention", "[1, 1, 4, 2]", "[1, 1, 4, 3]"}},
      {"causal_linear_attention: v of another length",
       [] { causal_linear_attention(zeros({1, 1, 4, 2}), zeros({1, 1, 4, 2}), zeros({1, 1, 5, 2})); },
       {"causal_linear_attention", "[1, 1, 5, 2]"}},
      {"causal_linear_attention: dtype mismatch",
       [] { causal_linear_attention(zeros({1, 1, 4, 2}), zeros({1, 1, 4, 2}, kFloat64), zeros({1, 1, 4, 2})); },
       {"causal_linear_attention", "float32", "float64"}},
      {"causal_linear_attention: int64 inputs",
       [] { Tensor t = zeros({1, 1, 4, 2}, kInt64); causal_linear_attention(t, t, t); },
       {"causal_linear_attention", "int64"}},
      {"causal_linear_attention: zero chunk size",
       [] { Tensor t = zeros({1, 1, 4, 2}); causal_linear_attention(t, t, t, 1e-6, 0); },
       {"causal_linear_attention", "chunk_size", "0"}},
      {"causal_linear_attention: negative eps",
       [] { Tensor t = zeros({1, 1, 4, 2}); causal_linear_attention(t, t, t, -1.0); },
       {"causal_linear_attention", "eps", "-1"}},
      {"causal_linear_attention: NaN eps",
       [] { Tensor t = zeros({1, 1, 4, 2}); causal_linear_attention(t, t, t, NAN); },
       {"causal_linear_attention", "eps", "nan"}},
      {"causal_linear_attention: mixed devices",
       [] { Tensor t = zeros({1, 1, 4, 2}); causal_linear_attention(t, t, zeros({1, 1, 4, 2}, kCUDA)); },
       {"causal_linear_attention", "cuda:0"}, Needs::Cuda},

      // ---- layers
      {"Linear: zero features", [] { nn::Linear(0, 3); }, {"Linear", "0 -> 3"}},
      {"Linear: input not ending in in_features",
       [] { nn::Linear(4, 3).forward(zeros({2, 5})); },
       {"Linear", "[2, 5]", "in_features = 4"}},
      {"Linear: 0-d input", [] { nn::Linear(4, 3).forward(zeros({})); }, {"Linear", "[]", "in_features = 4"}},
      {"Linear: float64 input to float32 weights",
       [] { nn::Linear(4, 3).forward(zeros({2, 4}, kFloat64)); },
       {"matmul", "[2, 4]", "float64", "float32"}},
      {"Linear: undefined input", [] { nn::Linear(4, 3).forward(Tensor()); }, {"Linear", "undefined"}},
      {"LayerNorm: input of the wrong width", [] { nn::LayerNorm({4}).forward(zeros({2, 3})); }, {"layer_norm", "[4]", "[2, 3]"}},
      {"Embedding: zero rows", [] { nn::Embedding(0, 4); }, {"Embedding", "(0, 4)"}},
      {"Embedding: index past the table",
       [] { nn::Embedding(5, 2).forward(i64({7})); },
       {"embedding", "out of range", "[0, 5)", "[1]"}},
      {"Dropout: probability above 1", [] { nn::Dropout(2.0); }, {"Dropout", "2"}},
      {"PositionalEncoding: wrong width",
       [] { nn::PositionalEncoding(8).forward(zeros({1, 2, 4})); },
       {"PositionalEncoding", "(B, N, 8)", "[1, 2, 4]"}},
      {"MultiHeadAttention: d_model not a multiple of heads",
       [] { nn::MultiHeadAttention(10, 3); },
       {"MultiHeadAttention", "10", "3"}},
      {"MultiHeadAttention: 2-d query",
       [] { nn::MultiHeadAttention(8, 2).forward(zeros({2, 8}), zeros({2, 2, 8}), zeros({2, 2, 8})); },
       {"MultiHeadAttention", "[2, 8]", "(B, Nq, 8)"}},
      {"MultiHeadAttention: key and value differ",
       [] { nn::MultiHeadAttention(8, 2).forward(zeros({1, 2, 8}), zeros({1, 3, 8}), zeros({1, 4, 8})); },
       {"MultiHeadAttention", "[1, 3, 8]", "[1, 4, 8]"}},
      {"MultiHeadAttention: causal with more keys than queries",
       [] { Tensor q = zeros({1, 3, 8}), k = zeros({1, 4, 8}); nn::MultiHeadAttention(8, 2, {.causal = true}).forward(q, k, k); },
       {"MultiHeadAttention", "causal", "3 and 4"}},
      {"MultiHeadAttention: float key_lengths",
       [] { Tensor x = zeros({2, 3, 8}); nn::MultiHeadAttention(8, 2).forward(x, x, x, zeros({2})); },
       {"MultiHeadAttention", "key_lengths", "float32", "[2]"}},
      {"MultiHeadAttention: forward_step of two positions",
       [] { nn::AttentionCache cache; nn::MultiHeadAttention(8, 2).forward_step(zeros({2, 2, 8}), cache); },
       {"forward_step", "(B, 1, 8)", "[2, 2, 8]"}},
      {"TransformerConfig: d_model not a multiple of heads",
       [] { auto c = tiny(); c.heads = 3; nn::CausalLM m(c); },
       {"TransformerConfig", "d_model 8", "heads 3"}},
      {"TransformerConfig: dropout of 1",
       [] { auto c = tiny(); c.dropout = 1.0; nn::CausalLM m(c); },
       {"TransformerConfig", "dropout 1"}},
      {"CausalLM: float tokens", [] { nn::CausalLM(tiny()).forward(zeros({2, 3})); }, {"CausalLM", "int64", "float32", "[2, 3]"}},
      {"CausalLM: 1-d tokens", [] { nn::CausalLM(tiny()).forward(zeros({3}, kInt64)); }, {"CausalLM", "(B, N)", "[3]"}},
      {"CausalLM: token past the vocabulary",
       [] { nn::CausalLM(tiny()).forward(full({2, 3}, 20, kInt64)); },
       {"embedding", "out of range", "[0, 11)", "[2, 3]"}},
      {"CausalLM: forward_step of two tokens",
       [] { nn::DecoderCache cache; nn::CausalLM(tiny()).forward_step(zeros({1, 2}, kInt64), cache); },
       {"CausalLM::forward_step", "(B, 1)", "[1, 2]"}},
      {"generate_greedy: empty prompt",
       [] { nn::CausalLM m(tiny()); nn::generate_greedy(m, zeros({1, 0}, kInt64), 3); },
       {"generate_greedy", "[1, 0]"}},
      {"Seq2SeqTransformer: 3-d source",
       [] { nn::Seq2SeqTransformer(tiny()).forward(zeros({1, 2, 3}, kInt64), zeros({1, 2}, kInt64)); },
       {"Seq2SeqTransformer::encode", "[1, 2, 3]"}},
      {"Seq2SeqTransformer: float target",
       [] { nn::Seq2SeqTransformer(tiny()).forward(zeros({1, 2}, kInt64), zeros({1, 2})); },
       {"Seq2SeqTransformer::decode", "float32", "[1, 2]"}},
      {"Seq2SeqTransformer: source lengths of the wrong shape",
       [] { nn::Seq2SeqTransformer(tiny()).forward(zeros({2, 3}, kInt64), zeros({2, 3}, kInt64), i64({3})); },
       {"MultiHeadAttention", "key_lengths", "[2]", "[1]"}},
      {"Seq2SeqTransformer: batch sizes differ",
       [] { nn::Seq2SeqTransformer(tiny()).forward(zeros({2, 3}, kInt64), zeros({3, 3}, kInt64)); },
       {"MultiHeadAttention", "[3, 3, 8]", "[2, 3, 8]"}},

      // ---- modules' state
      {"Module: parameter name with a dot", [] { nn::Module m; m.register_parameter("a.b", zeros({1})); }, {"Module", "a.b"}},
      {"load_state_dict: missing keys",
       [] { nn::Linear(2, 3).load_state_dict({}); },
       {"load_state_dict", "missing keys [weight, bias]"}},
      {"load_state_dict: unexpected key",
       [] { nn::Linear l(2, 3); auto s = l.state_dict(); s["extra"] = zeros({1}); l.load_state_dict(s); },
       {"load_state_dict", "unexpected keys [extra]"}},
      {"load_state_dict: shape mismatch",
       [] { nn::Linear l(2, 3); auto s = l.state_dict(); s["weight"] = zeros({3, 3}); l.load_state_dict(s); },
       {"load_state_dict", "weight", "[3, 3]", "[3, 2]"}},
      {"load_state_dict: undefined tensor",
       [] { nn::Linear l(2, 3); auto s = l.state_dict(); s["bias"] = Tensor(); l.load_state_dict(s); },
       {"load_state_dict", "bias", "undefined"}},
      {"load: checkpoint of another model",
       [] {
         const std::string p = temp_path("other.safetensors");
         nn::save(nn::Linear(2, 3), p);
         nn::Linear l(4, 3);
         try {
           nn::load(l, p);
         } catch (...) {
           std::filesystem::remove(p);
           throw;
         }
       },
       {"load", "other.safetensors", "[3, 2]", "[3, 4]"}},

      // ---- safetensors
      {"load_safetensors: missing file",
       [] { nn::load_safetensors("/nonexistent/ember.safetensors"); },
       {"load_safetensors", "/nonexistent/ember.safetensors", "cannot open"}},
      {"load_safetensors: shorter than the length prefix",
       [] { nn::load_safetensors_from_memory("abcd"); },
       {"load_safetensors", "4 bytes", "8-byte header"}},
      {"load_safetensors: header past the end",
       [] { nn::load_safetensors_from_memory(std::string("\x40\0\0\0\0\0\0\0{}", 10)); },
       {"load_safetensors", "header length 64", "past the end"}},
      {"load_safetensors: header not JSON",
       [] { nn::load_safetensors_from_memory(safetensors_image("{\"x\": ", 0)); },
       {"load_safetensors", "not valid JSON"}},
      {"load_safetensors: unknown dtype",
       [] { nn::load_safetensors_from_memory(safetensors_image(R"({"x":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}})", 4)); },
       {"load_safetensors", "\"x\"", "unknown dtype", "Q7"}},
      {"load_safetensors: offsets that disagree with the shape",
       [] { nn::load_safetensors_from_memory(safetensors_image(R"({"x":{"dtype":"F32","shape":[2,3],"data_offsets":[0,4]}})", 4)); },
       {"load_safetensors", "[2,3]", "needs 24 bytes"}},
      {"load_safetensors: shape that overflows",
       [] {
         nn::load_safetensors_from_memory(
             safetensors_image(R"({"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4));
       },
       {"load_safetensors", "overflows", "[4294967296,4294967296]"}},
      {"load_safetensors: no elements, but strides past int64",
       [] {
         nn::load_safetensors_from_memory(
             safetensors_image(R"({"x":{"dtype":"F32","shape":[0,9223372036854775807,4],"data_offsets":[0,0]}})", 0));
       },
       {"load_safetensors", "\"x\"", "[0,9223372036854775807,4]", "strides overflow"}},
      {"load_safetensors: data past the end",
       [] { nn::load_safetensors_from_memory(safetensors_image(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4)); },
       {"load_safetensors", "past the end", "8"}},

      // ---- optimizers and schedulers
      {"SGD: negative lr", [] { optim::SGD({ones({2}).requires_grad_()}, {.lr = -1}); }, {"SGD", "lr -1"}},
      {"SGD: nesterov without momentum",
       [] { optim::SGD({ones({2}).requires_grad_()}, {.nesterov = true}); },
       {"SGD", "nesterov", "momentum 0"}},
      {"SGD: int64 parameter", [] { optim::SGD({zeros({2}, kInt64)}); }, {"SGD", "int64", "[2]"}},
      {"Adam: beta1 of 1", [] { optim::Adam({ones({2}).requires_grad_()}, {.betas = {1.0, 0.999}}); }, {"Adam", "beta1 1"}},
      {"Adam: non-leaf parameter", [] { optim::Adam({ones({2}).requires_grad_() * 2.0}); }, {"Adam", "non-leaf", "[2]"}},
      {"Adam: undefined parameter", [] { optim::Adam({Tensor()}); }, {"Adam", "undefined"}},
      {"AdamW: negative eps", [] { optim::AdamW({ones({2}).requires_grad_()}, {.eps = -1}); }, {"AdamW", "eps -1"}},
      {"RAdam: a parameter listed twice",
       [] { Tensor p = ones({2}).requires_grad_(); optim::RAdam({p, p}); },
       {"RAdam", "twice", "[2]"}},
      {"Adam: load_state_dict of another optimizer",
       [] { optim::Adam({ones({2}).requires_grad_()}).load_state_dict({}); },
       {"Adam.load_state_dict", "missing keys", "state.0.0.exp_avg"}},
      {"Adam: load_state_dict with a mis-shaped buffer",
       [] {
         optim::Adam opt({ones({2}).requires_grad_()});
         auto s = opt.state_dict();
         s["state.0.0.exp_avg"] = zeros({3});
         opt.load_state_dict(s);
       },
       {"Adam.load_state_dict", "state.0.0.exp_avg", "[2]", "[3]"}},
      {"StepLR: zero step size",
       [] { optim::SGD opt({ones({2}).requires_grad_()}); optim::StepLR(opt, 0, 0.1); },
       {"StepLR", "step_size", "0"}},
      {"StepLR: load_state_dict without keys",
       [] { optim::SGD opt({ones({2}).requires_grad_()}); optim::StepLR s(opt, 5, 0.1); s.load_state_dict({}); },
       {"StepLR.load_state_dict", "missing keys", "last_step"}},
      {"clip_grad_norm: negative norm type",
       [] { optim::clip_grad_norm({ones({2}).requires_grad_()}, 1.0, -1.0); },
       {"clip_grad_norm", "norm_type", "-1"}},
  };
}

// Values that used to be accepted, then failed later somewhere else or gave a wrong result.
std::vector<ErrorRow> late_failure_rows() {
  return {
      {"backward: float64 gradient for a float32 output",
       [] { Tensor x = ones({2}).requires_grad_(); (x * 2.0).backward(ones({2}, kFloat64)); },
       {"backward", "float64", "float32", "[2]"}},
      {"set_grad: wrong dtype",
       [] { Tensor x = ones({2}).requires_grad_(); x.set_grad(ones({2}, kFloat64)); },
       {"set_grad", "float64", "float32", "[2]"}},
      {"full: NaN into int64", [] { full({2}, NAN, kInt64); }, {"full", "nan", "int64"}},
      {"full: 1e19 into int64", [] { full({2}, 1e19, kInt64); }, {"full", "1e+19", "int64"}},
      {"fill_: inf into int64", [] { zeros({2}, kInt64).fill_(INFINITY); }, {"fill_", "inf", "int64"}},
      {"Adam: lr inf", [] { optim::Adam({ones({2}).requires_grad_()}, {.lr = INFINITY}); }, {"Adam", "lr", "inf", "finite"}},
      {"Adam: lr NaN", [] { optim::Adam({ones({2}).requires_grad_()}, {.lr = NAN}); }, {"Adam", "lr", "nan"}},
      {"AdamW: lr inf", [] { optim::AdamW({ones({2}).requires_grad_()}, {.lr = INFINITY}); }, {"AdamW", "lr", "inf"}},
      {"Adam: eps inf", [] { optim::Adam({ones({2}).requires_grad_()}, {.eps = INFINITY}); }, {"Adam", "eps", "inf"}},
      {"Adam: group lr set to NaN after construction",
       [] {
         Tensor p = ones({2}).requires_grad_();
         p.set_grad(ones({2}));
         optim::Adam opt({p});
         opt.param_groups()[0].lr = NAN;
         opt.step();
       },
       {"Adam", "lr", "nan"}},
      {"clip_grad_norm: NaN max_norm",
       [] { optim::clip_grad_norm({ones({2}).requires_grad_()}, NAN); },
       {"clip_grad_norm", "max_norm", "nan"}},
      {"matmul: product shape past int64",
       [] { matmul(zeros({kHuge, 0}), zeros({0, kHuge})); },
       {"matmul", "too large", "[1099511627776, 1099511627776]"}},
      {"requires_grad_: bfloat16", [] { zeros({2}, kBFloat16).requires_grad_(); }, {"requires_grad_", "bfloat16", "autocast"}},
      {"requires_grad_: int64", [] { zeros({2}, kInt64).requires_grad_(); }, {"requires_grad_", "floating-point", "int64"}},
      {"set_num_threads: 100000", [] { set_num_threads(100000); }, {"set_num_threads", "100000", "allowed are 1 to"}},
      {"set_num_threads: 0", [] { set_num_threads(0); }, {"set_num_threads", "0"}},
      {"Tensor: dim() of an undefined tensor", [] { Tensor u; (void)u.dim(); }, {"dim", "undefined tensor"}},
  };
}

// Runs one row; returns the failure, or an empty string when it threw the right ember::Error.
std::string run_row(const ErrorRow& row) {
  try {
    row.call();
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const std::string& fragment : row.fragments)
      if (message.find(fragment) == std::string::npos)
        return fmt::format("message lacks \"{}\": {}", fragment, message);
    return {};
  } catch (const std::exception& e) {
    return fmt::format("threw a {} instead of ember::Error: {}", typeid(e).name(), e.what());
  }
  return "did not throw";
}

}  // namespace

TEST_CASE("edge case 6: values accepted before and wrong later are refused where they are given") {
  for (const ErrorRow& row : late_failure_rows()) {
    INFO("row: " << row.what);
    CHECK(run_row(row) == "");
  }
}

TEST_CASE("error inputs: every row of the table throws ember::Error naming the op and the bad input") {
  const bool cuda = cuda_is_available();
  int ran = 0, skipped = 0;
  std::vector<ErrorRow> rows = error_table(), late = late_failure_rows();
  rows.insert(rows.end(), late.begin(), late.end());
  for (const ErrorRow& row : rows) {
    if ((row.needs == Needs::Cuda && !cuda) || (row.needs == Needs::NoCuda && cuda)) {
      const std::string reason = cuda ? "a GPU is available" : "needs a CUDA tensor, and no GPU is usable";
      MESSAGE("skipped \"" << row.what << "\": " << reason);
      ++skipped;
      continue;
    }
    INFO("row: " << row.what);
    CHECK(run_row(row) == "");
    ++ran;
  }
  MESSAGE(ran << " rows ran, " << skipped << " skipped, " << ran + skipped << " rows in the table");
  CHECK(ran > 150);
}
