// Error inputs of everything that is not an op (the op table's entries carry their own rows, in
// tests/ops/): tensors and factories, autograd entry points, modules, checkpoints, safetensors,
// optimizers and schedulers. Each row is a bad call with the fragments its ember::Error message
// must contain (the name of what was called and the offending shape, dtype, device or value). A
// walker runs every row and requires exactly an ember::Error: no crash, no std::exception of
// another kind, no silent success. Rows that need a CUDA tensor (mixed-device calls) are skipped,
// with their reason printed, where no GPU is usable; rows about CUDA being unavailable are skipped
// where it is. `ctest -R "error inputs" -V` prints how many rows ran.
#include <filesystem>
#include <limits>
#include <unistd.h>

#include "helpers.h"
#include "ops/error_rows.h"
#include "ops/samples.h"  // i64, cuda2, kHuge, kMax

using namespace ember;
using namespace ember::testing;

namespace {

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
      {"add_: in place on a tensor that requires grad",
       [] { ones({2}).requires_grad_().add_(ones({2})); },
       {"add_", "requires grad", "[2]"}},
      {"add_: source larger than the destination", [] { zeros({2}).add_(zeros({3, 2})); }, {"add_", "[3, 2]", "[2]"}},
      {"copy_: source that does not broadcast", [] { zeros({2}).copy_(zeros({3})); }, {"copy_", "[3]", "[2]"}},

      // ---- views
      {"t: 3-d tensor", [] { zeros({2, 3, 4}).t(); }, {"t:", "2-D", "[2, 3, 4]"}},

      // ---- softmax, layer_norm, embedding, cross_entropy, dropout
      {"masked_cross_entropy: mask of the wrong shape",
       [] { nn::masked_cross_entropy(zeros({1, 2, 3}), zeros({1, 2}, kInt64), ones({2})); },
       {"masked_cross_entropy", "[2]", "[1, 2]"}},
      {"masked_cross_entropy: undefined targets",
       [] { nn::masked_cross_entropy(zeros({1, 2, 3}), Tensor(), ones({1, 2})); },
       {"masked_cross_entropy", "undefined"}},

      // ---- layers
      {"Linear: zero features", [] { nn::Linear(0, 3); }, {"Linear", "0 -> 3"}},
      {"Linear: input not ending in in_features",
       [] { nn::Linear(4, 3).forward(zeros({2, 5})); },
       {"Linear", "[2, 5]", "in_features = 4"}},
      {"Linear: 0-d input", [] { nn::Linear(4, 3).forward(zeros({})); }, {"Linear", "[]", "in_features = 4"}},
      {"Linear: float64 input to float32 weights",
       [] { nn::Linear(4, 3).forward(zeros({2, 4}, kFloat64)); },
       {"linear", "[2, 4]", "float64", "float32"}},
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
      {"TransformerConfig: attention dropout of 1",
       [] { auto c = tiny(); c.attention_dropout = 1.0; nn::CausalLM m(c); },
       {"TransformerConfig", "attention_dropout 1"}},
      {"TransformerConfig: ConcatHalf with an odd d_model",
       [] { auto c = tiny(); c.d_model = 5; c.heads = 1; c.position_mix = nn::PositionMix::ConcatHalf; nn::CausalLM m(c); },
       {"TransformerConfig", "ConcatHalf", "even d_model", "5"}},
      {"CausalLM: float tokens", [] { nn::CausalLM(tiny()).forward(zeros({2, 3})); }, {"CausalLM", "int64", "float32", "[2, 3]"}},
      {"CausalLM: 1-d tokens", [] { nn::CausalLM(tiny()).forward(zeros({3}, kInt64)); }, {"CausalLM", "(B, N)", "[3]"}},
      {"CausalLM: token past the vocabulary",
       [] { nn::CausalLM(tiny()).forward(full({2, 3}, 20, kInt64)); },
       {"embedding", "out of range", "[0, 11)", "[2, 3]"}},
      {"CausalLM: forward_step of two tokens",
       [] { nn::GenerationState cache; nn::CausalLM(tiny()).forward_step(zeros({1, 2}, kInt64), cache); },
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

// Modules, schedulers and files: the checks no other row reached.
std::vector<ErrorRow> module_rows() {
  auto opt = [] { return std::make_shared<optim::SGD>(std::vector<Tensor>{ones({2}).requires_grad_()}); };
  return {
      {"Module: a parameter and a buffer of one name",
       [] { nn::Module m; m.register_parameter("w", zeros({1})); m.register_buffer("w", zeros({1})); },
       {"Module", "'w'", "already has"}},
      {"Module: undefined parameter", [] { nn::Module m; m.register_parameter("w", Tensor()); }, {"Module", "'w'", "undefined"}},
      {"Module: undefined buffer", [] { nn::Module m; m.register_buffer("b", Tensor()); }, {"Module", "'b'", "undefined"}},
      {"Module: null child", [] { nn::Module m; m.register_module<nn::Linear>("c", nullptr); }, {"Module", "'c'", "null"}},
      {"Module: itself as its child",
       [] { auto m = std::make_shared<nn::Module>(); m->register_module("self", m); },
       {"Module", "own child", "'self'"}},
      {"ModuleList: index past the end",
       [] { nn::ModuleList<nn::Linear> list; list.push_back(std::make_shared<nn::Linear>(2, 2)); (void)list[3]; },
       {"ModuleList", "index 3", "1 modules"}},
      {"PositionalEncoding: zero width", [] { nn::PositionalEncoding(0); }, {"PositionalEncoding", "d_model", "0"}},
      {"PositionalEncoding: negative start",
       [] { nn::PositionalEncoding(4).forward(zeros({1, 2, 4}), -1); },
       {"PositionalEncoding", "negative start", "-1 and 2"}},
      {"MultiHeadAttention: undefined key",
       [] { Tensor x = zeros({1, 2, 8}); nn::MultiHeadAttention(8, 2).forward(x, Tensor(), x); },
       {"MultiHeadAttention", "undefined"}},
      {"MultiHeadAttention: forward_cross_step of two positions",
       [] { nn::AttentionCache c; nn::MultiHeadAttention(8, 2).forward_cross_step(zeros({1, 2, 8}), zeros({1, 3, 8}), c); },
       {"forward_cross_step", "(B, 1, 8)", "[1, 2, 8]"}},
      {"MultiHeadAttention: forward_cross_step with a 2-d memory",
       [] { nn::AttentionCache c; nn::MultiHeadAttention(8, 2).forward_cross_step(zeros({1, 1, 8}), zeros({3, 8}), c); },
       {"forward_cross_step", "memory", "[3, 8]"}},
      {"DecoderLayer: cross-attention without a memory",
       [] { nn::DecoderLayer(tiny(), true).forward(zeros({1, 2, 8})); },
       {"DecoderLayer", "needs a memory"}},
      {"Seq2SeqTransformer: decode_step of two tokens",
       [] {
         nn::Seq2SeqTransformer m(tiny());
         nn::GenerationState cache;
         Tensor memory = m.encode(zeros({1, 3}, kInt64));
         m.decode_step(zeros({1, 2}, kInt64), memory, cache);
       },
       {"decode_step", "(B, 1)", "[1, 2]"}},
      {"generate_greedy: max_len 0",
       [] { nn::Seq2SeqTransformer m(tiny()); nn::generate_greedy(m, zeros({1, 3}, kInt64), 1, 0); },
       {"generate_greedy", "max_len", "0"}},
      {"Optimizer: undefined parameter in an added group",
       [] { optim::SGD o({ones({2}).requires_grad_()}); o.add_param_group({.params = {Tensor()}}); },
       {"SGD", "undefined"}},
      {"LinearWarmup: zero warmup steps", [opt] { auto o = opt(); optim::LinearWarmup(*o, 0); }, {"LinearWarmup", "warmup_steps", "0"}},
      {"CosineAnnealingLR: zero T_max", [opt] { auto o = opt(); optim::CosineAnnealingLR(*o, 0); }, {"CosineAnnealingLR", "T_max", "0"}},
      {"SequentialLR: as many milestones as schedulers",
       [opt] {
         auto o = opt();
         optim::SequentialLR(*o, {std::make_shared<optim::LinearWarmup>(*o, 2)}, {2});
       },
       {"SequentialLR", "milestone"}},
      {"SequentialLR: a null scheduler",
       [opt] { auto o = opt(); optim::SequentialLR(*o, {nullptr, std::make_shared<optim::LinearWarmup>(*o, 2)}, {2}); },
       {"SequentialLR", "null"}},
      {"SequentialLR: a scheduler of another optimizer",
       [opt] {
         auto o = opt(), other = opt();
         optim::SequentialLR(*o, {std::make_shared<optim::LinearWarmup>(*other, 2), std::make_shared<optim::LinearWarmup>(*o, 2)}, {2});
       },
       {"SequentialLR", "different optimizer"}},
      {"SequentialLR: decreasing milestones",
       [opt] {
         auto o = opt();
         optim::SequentialLR(*o, {std::make_shared<optim::LinearWarmup>(*o, 2), std::make_shared<optim::LinearWarmup>(*o, 2),
                                  std::make_shared<optim::LinearWarmup>(*o, 2)}, {5, 3});
       },
       {"SequentialLR", "milestones", "increasing"}},
      {"StepLR: a parameter group added after the scheduler",
       [] {
         optim::SGD o({ones({2}).requires_grad_()});
         optim::StepLR s(o, 1, 0.5);
         o.add_param_group({.params = {ones({3}).requires_grad_()}});
         s.step();
       },
       {"StepLR", "2 parameter groups", "1"}},
      {"fill_: undefined tensor", [] { Tensor u; u.fill_(1.0); }, {"fill_", "undefined"}},
      {"add_: undefined other", [] { zeros({2}).add_(Tensor()); }, {"add_", "undefined", "[2]"}},
      {"sub_: float64 into float32", [] { zeros({2}).sub_(zeros({2}, kFloat64)); }, {"sub_", "float64", "float32"}},
      {"AutocastGuard: float32", [] { AutocastGuard guard(kFloat32); }, {"autocast", "bfloat16", "float32"}},
      {"Optimizer: a parameter group's tensor reset after construction",
       [] {
         Tensor p = ones({2}).requires_grad_();
         p.set_grad(ones({2}));
         optim::SGD o({p});
         o.param_groups()[0].params[0] = Tensor();
         o.step();
       },
       {"SGD", "parameter 0 of group 0", "undefined"}},
      {"save_safetensors: undefined tensor",
       [] { nn::save_safetensors({{"x", Tensor()}}, temp_path("undefined.safetensors")); },
       {"save_safetensors", "\"x\"", "undefined"}},
      {"save_safetensors: a file in a folder that does not exist",
       [] { nn::save_safetensors({{"x", zeros({1})}}, "/nonexistent-ember-folder/x.safetensors"); },
       {"cannot write", "/nonexistent-ember-folder/x.safetensors"}},
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

std::vector<ErrorRow> all_rows() {
  std::vector<ErrorRow> rows = error_table(), late = late_failure_rows(), modules = module_rows();
  rows.insert(rows.end(), late.begin(), late.end());
  rows.insert(rows.end(), modules.begin(), modules.end());
  return rows;
}

// Counted by "error inputs: every EMBER_CHECK in ops/ and nn/ is reached by an error row".
[[maybe_unused]] const bool registered = register_error_rows(all_rows);

}  // namespace

TEST_CASE("edge case 6: values accepted before and wrong later are refused where they are given") {
  for (const ErrorRow& row : late_failure_rows()) {
    INFO("row: " << row.what);
    CHECK(run_error_row(row).failure == "");
  }
}

TEST_CASE("error inputs: every row of the table throws ember::Error naming the op and the bad input") {
  int ran = 0, skipped = 0;
  for (const ErrorRow& row : all_rows()) {
    std::string reason;
    if (!row_runs_here(row, reason)) {
      MESSAGE("skipped \"" << row.what << "\": " << reason);
      ++skipped;
      continue;
    }
    INFO("row: " << row.what);
    CHECK(run_error_row(row).failure == "");
    ++ran;
  }
  MESSAGE(ran << " rows ran, " << skipped << " skipped, " << ran + skipped << " rows in the table");
  CHECK(ran > 80);
}
