// Error inputs of generation: nn::generate and nn::prefill, the prompt batch, sampling options, the
// models' prefill and steps, and GenerationState files that are not what save() writes. Each row is
// a bad call and the fragments its ember::Error must contain; the rows are registered with the
// others (tests/ops/error_rows.h), so they count toward "every EMBER_CHECK is reached".
#include <unistd.h>

#include <filesystem>
#include <functional>

#include "helpers.h"
#include "ops/error_rows.h"

using namespace ember;
using namespace ember::testing;

namespace {

nn::TransformerConfig tiny(std::int64_t layers = 1) {
  nn::TransformerConfig c;
  c.vocab_size = 11;
  c.d_model = 8;
  c.heads = 2;
  c.d_ff = 16;
  c.encoder_layers = 1;
  c.decoder_layers = layers;
  c.dropout = 0.0;
  return c;
}

nn::AttentionOptions causal() {
  nn::AttentionOptions o;
  o.causal = true;
  return o;
}

nn::GenerationOptions options(std::int64_t max_new_tokens = 2) {
  nn::GenerationOptions o;
  o.max_new_tokens = max_new_tokens;
  return o;
}

nn::GenerationOptions sampling(nn::SamplingOptions s) {
  nn::GenerationOptions o = options();
  s.decoding = nn::Decoding::Sample;
  o.sampling = s;
  return o;
}

Tensor tokens(std::int64_t B, std::int64_t P) { return zeros({B, P}, kInt64); }

// A temporary file removed when the row's call ends, thrown through or not.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& name)
      : path((std::filesystem::temp_directory_path() /
              ("ember_generation_errors_" + std::to_string(::getpid()) + "_" + name)).string()) {}
  ~TempFile() { std::filesystem::remove(path); }
};

// Loads, into a 1-layer CausalLM, the state of a ragged batch (lengths 3 and 1) saved and then
// changed by `tamper` (its tensors and metadata).
void load_tampered(const std::function<void(nn::StateDict&, nn::Metadata&)>& tamper) {
  manual_seed(1);
  nn::CausalLM model(tiny());
  nn::GenerationState state;
  nn::prefill(model, tokens(2, 3), from_vector<std::int64_t>({3, 1}), state);
  TempFile file("state.safetensors");
  state.save(file.path);
  nn::Metadata metadata;
  nn::StateDict tensors = nn::load_safetensors(file.path, &metadata);
  tamper(tensors, metadata);
  nn::save_safetensors(tensors, file.path, metadata);
  nn::GenerationState::load(file.path, model);
}

// Prefills `from` with one prompt of 2 tokens, lets `change` alter the state, saves it and loads it
// into `into`.
void load_into(nn::StepModel& from, const nn::StepModel& into,
               const std::function<void(nn::GenerationState&)>& change = {}) {
  nn::GenerationState state;
  nn::prefill(from, tokens(1, 2), {}, state);
  if (change) change(state);
  TempFile file("load_into.safetensors");
  state.save(file.path);
  nn::GenerationState::load(file.path, into);
}

nn::TransformerConfig tiny_linear() {
  nn::TransformerConfig c = tiny();
  c.attention = nn::AttentionKind::Linear;
  return c;
}

// A StepModel whose prefill forgets to return logits.
class ForgetfulModel : public nn::StepModel {
 public:
  Tensor prefill(const Tensor&, const Tensor&, nn::GenerationState&) override { return {}; }
  Tensor forward_step(const Tensor&, nn::GenerationState&) override { return {}; }
};

std::vector<ErrorRow> generation_rows() {
  return {
      // ---- the prompts and options of nn::generate
      {"generate: float prompts", [] { nn::CausalLM m(tiny()); nn::generate(m, zeros({1, 3}), {}, options()); },
       {"generate", "int64", "float32", "[1, 3]"}},
      {"generate: empty prompt", [] { nn::CausalLM m(tiny()); nn::generate(m, tokens(1, 0), {}, options()); },
       {"generate", "empty", "[1, 0]"}},
      {"generate: float lengths",
       [] { nn::CausalLM m(tiny()); nn::generate(m, tokens(2, 3), zeros({2}), options()); },
       {"generate", "lengths", "int64", "[2]", "float32"}},
      {"generate: a length past the prompts",
       [] { nn::CausalLM m(tiny()); nn::generate(m, tokens(2, 4), from_vector<std::int64_t>({3, 5}), options()); },
       {"generate", "prompt 1", "length 5", "[1, 4]"}},
      {"generate: a zero length",
       [] { nn::CausalLM m(tiny()); nn::generate(m, tokens(2, 4), from_vector<std::int64_t>({0, 4}), options()); },
       {"generate", "prompt 0", "length 0"}},
      {"generate: negative max_new_tokens",
       [] { nn::CausalLM m(tiny()); nn::generate(m, tokens(1, 2), {}, options(-1)); },
       {"generate", "max_new_tokens", "-1"}},
      {"generate: temperature 0 when sampling",
       [] { nn::CausalLM m(tiny()); nn::generate(m, tokens(1, 2), {}, sampling({.temperature = 0})); },
       {"generate", "temperature", "0", "Greedy"}},
      {"generate: negative top_k",
       [] { nn::CausalLM m(tiny()); nn::generate(m, tokens(1, 2), {}, sampling({.top_k = -1})); },
       {"generate", "top_k", "-1"}},
      {"generate: top_p 1.5",
       [] { nn::CausalLM m(tiny()); nn::generate(m, tokens(1, 2), {}, sampling({.top_p = 1.5})); },
       {"generate", "top_p", "(0, 1]", "1.5"}},
      {"generate: top_p 0", [] { nn::CausalLM m(tiny()); nn::generate(m, tokens(1, 2), {}, sampling({.top_p = 0})); },
       {"generate", "top_p", "(0, 1]", "0"}},
      {"generate: a state never prefilled",
       [] { nn::CausalLM m(tiny()); nn::GenerationState s; nn::generate(m, s, options()); },
       {"generate", "not ready", "0 sequences", "prefill it first"}},
      {"prefill: a state already prefilled",
       [] {
         nn::CausalLM m(tiny());
         nn::GenerationState s;
         nn::prefill(m, tokens(2, 3), {}, s);
         nn::prefill(m, tokens(2, 3), {}, s);
       },
       {"prefill", "already holds 2 sequences", "[3, 3]"}},
      {"prefill: a model whose prefill returns no logits",
       [] { ForgetfulModel m; nn::GenerationState s; nn::prefill(m, tokens(2, 3), {}, s); },
       {"prefill", "logits (B = 2, vocab)"}},
      {"pad_prompts: no prompts", [] { nn::CausalLM m(tiny()); nn::generate(m, std::vector<Tensor>{}, options()); },
       {"pad_prompts", "no prompts"}},
      {"pad_prompts: an empty prompt", [] { nn::pad_prompts({ones({2}, kInt64), zeros({0}, kInt64)}); },
       {"pad_prompts", "prompt 1", "non-empty", "[0]"}},
      {"last_positions: lengths for another batch", [] { nn::last_positions(zeros({2, 3, 4}), {1}); },
       {"last_positions", "B = 1", "[2, 3, 4]"}},
      {"choose_next_tokens: 3-d logits", [] { Generator g; nn::choose_next_tokens(zeros({1, 1, 4}), {}, g); },
       {"choose_next_tokens", "(B, V)", "[1, 1, 4]"}},
      {"choose_next_tokens: a NaN logit, greedy",
       [] { Generator g; nn::choose_next_tokens(tensor({0.0, NAN}).reshape({1, 2}), {}, g); },
       {"choose_next_tokens", "sequence 0", "NaN"}},
      {"choose_next_tokens: a NaN logit",
       [] {
         Generator g;
         nn::choose_next_tokens(tensor({0.0, NAN}).reshape({1, 2}), {.decoding = nn::Decoding::Sample}, g);
       },
       {"choose_next_tokens", "sequence 0", "NaN"}},

      // ---- the models' and layers' generation methods
      {"MultiHeadAttention: forward_prefill of a non-causal layer",
       [] { nn::AttentionCache c; nn::MultiHeadAttention(8, 2).forward_prefill(zeros({1, 2, 8}), {}, c); },
       {"forward_prefill", "causal"}},
      {"MultiHeadAttention: forward_prefill of the wrong width",
       [] { nn::AttentionCache c; nn::MultiHeadAttention(8, 2, causal()).forward_prefill(zeros({1, 2, 6}), {}, c); },
       {"forward_prefill", "(B, P, 8)", "[1, 2, 6]"}},
      {"MultiHeadAttention: forward_prefill into a filled cache",
       [] {
         nn::AttentionCache c;
         nn::MultiHeadAttention m(8, 2, causal());
         m.forward_prefill(zeros({1, 2, 8}), {}, c);
         m.forward_prefill(zeros({1, 2, 8}), {}, c);
       },
       {"forward_prefill", "already holds 2 positions"}},
      {"MultiHeadAttention: a step of another batch after a ragged prefill",
       [] {
         nn::AttentionCache c;
         nn::MultiHeadAttention m(8, 2, causal());
         m.forward_prefill(zeros({2, 3, 8}), from_vector<std::int64_t>({3, 1}), c);
         m.forward_step(zeros({1, 1, 8}), c);
       },
       {"forward_step", "lengths of 2 sequences", "has 1"}},
      {"DecoderLayer: forward_prefill of a cross-attending layer without a memory",
       [] { nn::AttentionCache c; nn::DecoderLayer(tiny(), true).forward_prefill(zeros({1, 2, 8}), {}, c); },
       {"DecoderLayer::forward_prefill", "needs a memory"}},
      {"TokenEmbedding: start positions for another batch",
       [] { nn::TokenEmbedding(tiny()).forward(tokens(2, 1), std::vector<std::int64_t>{0}); },
       {"TokenEmbedding", "B = 1", "[2, 1]"}},
      {"TokenEmbedding: a negative start position",
       [] { nn::TokenEmbedding(tiny()).forward(tokens(2, 1), std::vector<std::int64_t>{0, -1}); },
       {"TokenEmbedding", "negative", "-1"}},
      {"CausalLM: prefill of a started state",
       [] {
         nn::CausalLM m(tiny());
         nn::GenerationState s;
         m.prefill(tokens(2, 3), {}, s);
         m.prefill(tokens(2, 3), {}, s);
       },
       {"CausalLM::prefill", "already holds 2 sequences"}},
      {"CausalLM: a step of another batch",
       [] {
         nn::CausalLM m(tiny());
         nn::GenerationState s;
         nn::prefill(m, tokens(2, 3), {}, s);
         m.forward_step(tokens(1, 1), s);
       },
       {"CausalLM::forward_step", "2 sequences", "1 caches", "need 1 and 1"}},
      {"Seq2SeqTransformer: generate without start(src)",
       [] { nn::Seq2SeqTransformer m(tiny()); nn::generate(m, tokens(1, 1), {}, options()); },
       {"Seq2SeqTransformer::prefill", "memory", "(B, Ns, 8)", "start(src)"}},
      {"Seq2SeqTransformer: a step with a cache missing",
       [] {
         nn::Seq2SeqTransformer m(tiny());
         nn::GenerationState s = m.start(tokens(1, 3));
         nn::prefill(m, tokens(1, 1), {}, s);
         s.caches.pop_back();
         m.forward_step(tokens(1, 1), s);
       },
       {"Seq2SeqTransformer::forward_step", "1 caches", "needs 2"}},
      {"Seq2SeqTransformer: prefill of another batch than the memory's",
       [] {
         nn::Seq2SeqTransformer m(tiny());
         nn::GenerationState s = m.start(tokens(2, 3));
         m.prefill(tokens(1, 1), {}, s);
       },
       {"Seq2SeqTransformer::prefill", "1 prompts", "memory of 2 sequences", "[2, 3, 8]"}},
      {"MultiHeadAttention: check_cache of a cache holding lengths of another batch",
       [] {
         nn::AttentionCache c;
         c.sequence_lengths = {1, 2, 3};
         nn::MultiHeadAttention(8, 2, causal()).check_cache(c, 2, "a caller");
       },
       {"a caller", "lengths of 3 sequences", "the state 2"}},
      {"Seq2SeqTransformer: prefill of a started state",
       [] {
         nn::Seq2SeqTransformer m(tiny());
         nn::GenerationState s = m.start(tokens(1, 3));
         m.prefill(tokens(1, 1), {}, s);
         m.prefill(tokens(1, 1), {}, s);
       },
       {"Seq2SeqTransformer::prefill", "already holds positions"}},

      {"CausalLM: a step after one that failed in its second layer",
       [] {
         nn::CausalLM m(tiny(2));
         nn::GenerationState s;
         nn::prefill(m, tokens(1, 3), {}, s);
         s.caches[1].keys = s.caches[1].keys.to(kFloat64);  // layer 0 steps, layer 1 throws
         CHECK_THROWS_AS(m.forward_step(tokens(1, 1), s), Error);
         CHECK(s.damaged);
         m.forward_step(tokens(1, 1), s);
       },
       {"CausalLM::forward_step", "failed part-way", "start a new state or load a saved one"}},
      {"GenerationState::save: a damaged state",
       [] {
         nn::GenerationState s;
         s.damaged = true;
         TempFile file("damaged.safetensors");
         s.save(file.path);
       },
       {"GenerationState::save", "failed part-way"}},

      // ---- GenerationState files
      {"GenerationState::load: a state of a model with fewer layers",
       [] {
         nn::CausalLM one(tiny(1)), two(tiny(2));
         load_into(one, two);
       },
       {"GenerationState::load", "1 caches", "2 layers"}},
      {"GenerationState::load: another kind of file",
       [] { load_tampered([](nn::StateDict&, nn::Metadata& m) { m["format"] = "checkpoint"; }); },
       {"GenerationState::load", "not a generation state", "checkpoint"}},
      {"GenerationState::load: no lengths",
       [] { load_tampered([](nn::StateDict& t, nn::Metadata&) { t.erase("lengths"); }); },
       {"GenerationState::load", "\"lengths\" is missing"}},
      {"GenerationState::load: a negative length",
       [] {
         load_tampered([](nn::StateDict& t, nn::Metadata&) { t["lengths"] = from_vector<std::int64_t>({-1, 1}); });
       },
       {"GenerationState::load", "sequence 0", "length -1"}},
      {"GenerationState::load: float finished flags",
       [] { load_tampered([](nn::StateDict& t, nn::Metadata&) { t["finished"] = zeros({2}); }); },
       {"GenerationState::load", "\"finished\"", "int64", "[2]", "float32"}},
      {"GenerationState::load: a finished flag of 2",
       [] {
         load_tampered([](nn::StateDict& t, nn::Metadata&) { t["finished"] = from_vector<std::int64_t>({0, 2}); });
       },
       {"GenerationState::load", "finished", "2"}},
      {"GenerationState::load: next_logits of another batch",
       [] { load_tampered([](nn::StateDict& t, nn::Metadata&) { t["next_logits"] = zeros({3, 11}); }); },
       {"GenerationState::load", "next_logits", "batch 2", "[3, 11]"}},
      {"GenerationState::load: no cache count",
       [] { load_tampered([](nn::StateDict&, nn::Metadata& m) { m.erase("caches"); }); },
       {"GenerationState::load", "no \"caches\""}},
      {"GenerationState::load: a cache count that is not a number",
       [] { load_tampered([](nn::StateDict&, nn::Metadata& m) { m["caches"] = "1x"; }); },
       {"GenerationState::load", "\"caches\"", "\"1x\"", "[0, 1000000]"}},
      {"GenerationState::load: keys shorter than the cache's length",
       [] {
         load_tampered([](nn::StateDict& t, nn::Metadata&) {
           t["cache.0.keys"] = t["cache.0.keys"].narrow(2, 0, 1).contiguous();
         });
       },
       {"GenerationState::load", "cache 0", "inconsistent", "length 3"}},
      {"GenerationState::load: a sequence longer than its cache",
       [] {
         load_tampered([](nn::StateDict& t, nn::Metadata&) {
           t["cache.0.sequence_lengths"] = from_vector<std::int64_t>({3, 99});
         });
       },
       {"GenerationState::load", "cache 0", "length 99", "[0, 3]"}},
      {"GenerationState::load: a length past any sequence",
       [] {
         load_tampered([](nn::StateDict& t, nn::Metadata&) {
           t["lengths"] = from_vector<std::int64_t>({std::int64_t{1} << 50, 1});
         });
       },
       {"GenerationState::load", "sequence 0", "1125899906842624", "outside [0, 1099511627776]"}},
      {"GenerationState::load: lengths that disagree with the caches",
       [] { load_tampered([](nn::StateDict& t, nn::Metadata&) { t["lengths"] = from_vector<std::int64_t>({2, 1}); }); },
       {"GenerationState::load", "sequence 0 is at position 2", "holds 3 positions"}},
      {"GenerationState::load: keys of another head count",
       [] {
         load_tampered([](nn::StateDict& t, nn::Metadata&) {
           t["cache.0.keys"] = zeros({2, 1, 3, 8});
           t["cache.0.values"] = zeros({2, 1, 3, 8});
         });
       },
       {"GenerationState::load", "softmax cache of 3 positions", "2 heads x 4", "[2, 1, 3, 8]"}},
      {"GenerationState::load: a softmax state into a linear model",
       [] {
         nn::CausalLM softmax(tiny()), linear(tiny_linear());
         load_into(softmax, linear);
       },
       {"GenerationState::load", "linear attention layer", "the other kind"}},
      {"GenerationState::load: a linear state of another feature count",
       [] {
         nn::CausalLM linear(tiny_linear());
         load_into(linear, linear, [](nn::GenerationState& s) { s.caches[0].normalizer = zeros({1, 2, 3, 1}); });
       },
       {"GenerationState::load", "linear cache of 2 positions", "Z (B, H, F, 1)", "[1, 2, 3, 1]"}},
      {"GenerationState::load: an unknown tensor",
       [] { load_tampered([](nn::StateDict& t, nn::Metadata&) { t["junk"] = zeros({2}); }); },
       {"GenerationState::load", "unexpected", "junk"}},
      {"GenerationState::load: a context tensor of another batch",
       [] { load_tampered([](nn::StateDict& t, nn::Metadata&) { t["context.memory"] = zeros({5, 2, 8}); }); },
       {"GenerationState::load", "context.memory", "[5, 2, 8]", "batch of 2"}},
  };
}

// Counted by "error inputs: every EMBER_CHECK in ops/ and nn/ is reached by an error row".
[[maybe_unused]] const bool registered = register_error_rows(generation_rows);

}  // namespace

TEST_CASE("generate: bad input of every kind throws ember::Error naming the function and the values") {
  for (const ErrorRow& row : generation_rows()) {
    INFO("row: " << row.what);
    CHECK(run_error_row(row).failure == "");
  }
}
