// nn::generate over the built-in models: the prompt's one parallel pass against feeding it token by
// token, sampling from a seed, a saved or cloned state resuming to the same tokens, a batch of
// prompts of different lengths against each prompt alone, and the stop token. The error rows are in
// test_generation_errors.cpp, a model of one's own in test_generation_custom.cpp.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "helpers.h"

using namespace ember;

namespace {

const nn::AttentionKind kKinds[] = {nn::AttentionKind::Softmax, nn::AttentionKind::Linear};

nn::TransformerConfig small_config(nn::AttentionKind kind) {
  nn::TransformerConfig c;
  c.vocab_size = 11;
  c.d_model = 16;
  c.heads = 2;
  c.d_ff = 32;
  c.encoder_layers = 1;
  c.decoder_layers = 2;
  c.dropout = 0.1;  // generation must switch it off
  c.attention = kind;
  c.cross_attention = kind;
  c.chunk_size = 4;
  return c;
}

// A float64 CausalLM whose greedy continuations do not just repeat one token.
std::unique_ptr<nn::CausalLM> small_lm(nn::AttentionKind kind, std::uint64_t seed) {
  manual_seed(seed);
  auto model = std::make_unique<nn::CausalLM>(small_config(kind));
  model->to(kFloat64);
  return model;
}

Tensor start_tokens(std::int64_t B) { return zeros({B, 1}, kInt64); }  // Seq2Seq decoding starts from token 0

Tensor row(std::vector<std::int64_t> tokens) {
  const auto n = static_cast<std::int64_t>(tokens.size());
  return from_vector(tokens, {1, n});
}

std::vector<std::int64_t> tokens_of(const Tensor& t) { return t.to_vector<std::int64_t>(); }

nn::GenerationOptions greedy(std::int64_t n) {
  nn::GenerationOptions o;
  o.max_new_tokens = n;
  return o;
}

nn::GenerationOptions sampled(std::int64_t n, Generator& generator) {
  nn::GenerationOptions o = greedy(n);
  o.sampling.decoding = nn::Decoding::Sample;
  o.generator = &generator;
  return o;
}

double max_gap(const Tensor& a, const Tensor& b) { return max(abs(a - b)).item<double>(); }

// A state built by feeding prompt (B, P) through forward_step one token at a time.
nn::GenerationState fed_token_by_token(nn::StepModel& model, const Tensor& prompt, nn::GenerationState state = {}) {
  nn::EvalScope eval(model);
  Tensor logits;
  for (std::int64_t t = 0; t < prompt.size(1); ++t) logits = model.forward_step(prompt.narrow(1, t, 1), state);
  state.next_logits = logits.select(1, 0);
  state.finished.assign(static_cast<std::size_t>(prompt.size(0)), false);
  return state;
}

}  // namespace

TEST_CASE("generate: the prompt's one parallel pass continues as feeding it token by token (CausalLM)") {
  for (auto kind : kKinds) {
    INFO(nn::attention_kind_name(kind));
    auto model = small_lm(kind, 40);
    Tensor prompt = randint(0, 11, {2, 9});
    nn::GenerationState parallel;
    nn::prefill(*model, prompt, {}, parallel);
    nn::GenerationState stepped = fed_token_by_token(*model, prompt);
    CHECK(max_gap(parallel.next_logits, stepped.next_logits) < 1e-10);
    CHECK(parallel.lengths == stepped.lengths);
    for (std::size_t i = 0; i < parallel.caches.size(); ++i) {
      const nn::AttentionCache &a = parallel.caches[i], &b = stepped.caches[i];
      CHECK(a.length == b.length);
      if (kind == nn::AttentionKind::Softmax) {
        CHECK(max_gap(a.keys.narrow(2, 0, 9), b.keys.narrow(2, 0, 9)) < 1e-10);
        CHECK(max_gap(a.values.narrow(2, 0, 9), b.values.narrow(2, 0, 9)) < 1e-10);
      } else {
        CHECK(max_gap(a.state, b.state) < 1e-9);
        CHECK(max_gap(a.normalizer, b.normalizer) < 1e-9);
      }
    }
    const nn::GenerationResult from_parallel = nn::generate(*model, parallel, greedy(12));
    const nn::GenerationResult from_steps = nn::generate(*model, stepped, greedy(12));
    const std::vector<std::int64_t> generated = tokens_of(from_parallel.tokens);
    CHECK(generated == tokens_of(from_steps.tokens));
    CHECK(std::set<std::int64_t>(generated.begin(), generated.end()).size() >= 2);  // not one token repeated
    CHECK(tokens_of(from_parallel.lengths) == std::vector<std::int64_t>{12, 12});
    CHECK(model->is_training());  // restored after generation
  }
}

TEST_CASE("generate: one-pass prefill equals token by token for every feature map, ragged batches too") {
  const std::pair<const char*, nn::FeatureMapSpec> maps[] = {{"relu", nn::feature_maps::relu()},
                                                               {"favor", nn::feature_maps::favor()},
                                                               {"learned", nn::feature_maps::learned()}};
  for (const auto& [name, spec] : maps) {
    INFO(std::string(name));
    manual_seed(47);
    nn::TransformerConfig config = small_config(nn::AttentionKind::Linear);
    config.feature_map = spec;
    // FAVOR+'s keys share the prompt's largest exponent in one pass and a running one token by
    // token: the sums differ by that scale, which cancels in the read-out exactly only without eps.
    config.linear_eps = 0;
    nn::CausalLM model(config);
    model.to(kFloat64);
    Tensor prompt = randint(0, 11, {2, 9});
    nn::GenerationState parallel;
    nn::prefill(model, prompt, {}, parallel);
    nn::GenerationState stepped = fed_token_by_token(model, prompt);
    CHECK(max_gap(parallel.next_logits, stepped.next_logits) < 1e-10);
    CHECK(tokens_of(nn::generate(model, parallel, greedy(10)).tokens) ==
          tokens_of(nn::generate(model, stepped, greedy(10)).tokens));

    const std::vector<std::vector<std::int64_t>> prompts{{3, 1, 4, 1, 5, 9}, {2, 6}};
    std::vector<Tensor> rows;
    for (const auto& p : prompts) rows.push_back(from_vector(p, {static_cast<std::int64_t>(p.size())}));
    const nn::GenerationResult batch = nn::generate(model, rows, greedy(7));
    for (std::size_t b = 0; b < prompts.size(); ++b) {
      INFO("prompt " << b);
      CHECK(tokens_of(batch.tokens.select(0, static_cast<std::int64_t>(b))) ==
            tokens_of(nn::generate(model, row(prompts[b]), {}, greedy(7)).tokens));
    }
  }
}

TEST_CASE("generate: Seq2SeqTransformer's decoder prompt in one pass continues as token by token") {
  for (auto kind : kKinds) {
    INFO(nn::attention_kind_name(kind));
    manual_seed(41);
    nn::Seq2SeqTransformer model(small_config(kind));
    model.to(kFloat64);
    Tensor src = randint(1, 11, {2, 7}), src_lengths = from_vector<std::int64_t>({7, 4});
    Tensor prompt = randint(1, 11, {2, 5});
    nn::GenerationState parallel = model.start(src, src_lengths);
    nn::prefill(model, prompt, {}, parallel);
    nn::GenerationState stepped = fed_token_by_token(model, prompt, model.start(src, src_lengths));
    CHECK(max_gap(parallel.next_logits, stepped.next_logits) < 1e-10);
    CHECK(tokens_of(nn::generate(model, parallel, greedy(8)).tokens) ==
          tokens_of(nn::generate(model, stepped, greedy(8)).tokens));
  }
}

TEST_CASE("generate: sampling is reproducible from a seed; top_k = 1 and a tiny top_p are greedy") {
  auto model = small_lm(nn::AttentionKind::Linear, 42);
  Tensor prompt = randint(0, 11, {3, 4});
  auto sample = [&](std::uint64_t seed, auto&& adjust) {
    Generator generator(seed);
    nn::GenerationOptions o = sampled(16, generator);
    adjust(o.sampling);
    return tokens_of(nn::generate(*model, prompt, {}, o).tokens);
  };
  auto as_is = [](nn::SamplingOptions&) {};
  CHECK(sample(7, as_is) == sample(7, as_is));
  CHECK(sample(7, as_is) != sample(8, as_is));
  const std::vector<std::int64_t> argmax = tokens_of(nn::generate(*model, prompt, {}, greedy(16)).tokens);
  CHECK(sample(7, [](nn::SamplingOptions& s) { s.top_k = 1; }) == argmax);
  CHECK(sample(7, [](nn::SamplingOptions& s) { s.top_p = 1e-9; }) == argmax);
  CHECK(sample(7, [](nn::SamplingOptions& s) { s.temperature = 1e-4; }) == argmax);
  CHECK(sample(7, [](nn::SamplingOptions& s) { s.top_k = 4; s.top_p = 0.8; s.temperature = 0.7; }) ==
        sample(7, [](nn::SamplingOptions& s) { s.top_k = 4; s.top_p = 0.8; s.temperature = 0.7; }));
}

TEST_CASE("choose_next_tokens: top-k, top-p and temperature keep the right tokens at the right frequencies") {
  // Probabilities 0.5, 0.3, 0.15, 0.05 (tokens 2, 0, 3, 1).
  Tensor logits = from_vector<double>({std::log(0.3), std::log(0.05), std::log(0.5), std::log(0.15)}, {1, 4})
                      .expand({2000, 4}).contiguous();
  auto frequencies = [&](nn::SamplingOptions o) {
    o.decoding = nn::Decoding::Sample;
    Generator generator(3);
    std::map<std::int64_t, double> counts;
    for (std::int64_t token : tokens_of(nn::choose_next_tokens(logits, o, generator))) counts[token] += 1.0 / 2000;
    return counts;
  };
  const auto all = frequencies({});
  CHECK(all.size() == 4);
  CHECK(all.at(2) == doctest::Approx(0.5).epsilon(0.1));
  CHECK(all.at(0) == doctest::Approx(0.3).epsilon(0.15));
  CHECK(all.at(1) == doctest::Approx(0.05).epsilon(0.4));
  const auto top2 = frequencies({.top_k = 2});
  CHECK(top2.size() == 2);
  CHECK(top2.at(2) == doctest::Approx(0.625).epsilon(0.1));  // 0.5 / 0.8
  const auto nucleus = frequencies({.top_p = 0.85});  // 0.5 + 0.3 < 0.85 <= 0.95: three tokens
  CHECK(nucleus.size() == 3);
  CHECK(nucleus.count(1) == 0);
  const auto two = frequencies({.top_p = 0.75});  // 0.5 < 0.75 <= 0.5 + 0.3: two tokens
  CHECK(two.size() == 2);
  CHECK(two.at(2) == doctest::Approx(0.625).epsilon(0.1));
  const auto sharp = frequencies({.temperature = 0.25});  // probabilities to the 4th power
  CHECK(sharp.at(2) > 0.8);
}

TEST_CASE("generate: a saved or cloned state resumes to the tokens of an uninterrupted run") {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("ember_generation_state_" + std::to_string(::getpid()) + ".safetensors")).string();
  for (auto kind : kKinds) {
    INFO(nn::attention_kind_name(kind));
    auto model = small_lm(kind, 43);
    const nn::PaddedPrompts prompts = nn::pad_prompts({from_vector<std::int64_t>({1, 2, 3, 4, 5}),
                                                       from_vector<std::int64_t>({6, 7}),
                                                       from_vector<std::int64_t>({8, 9, 10})});
    const std::vector<std::int64_t> whole =
        tokens_of(nn::generate(*model, prompts.tokens, prompts.lengths, greedy(10)).tokens);
    nn::GenerationState state;
    nn::prefill(*model, prompts.tokens, prompts.lengths, state);
    const std::vector<std::int64_t> first = tokens_of(nn::generate(*model, state, greedy(4)).tokens);
    state.save(path);
    nn::GenerationState copy = state.clone();
    nn::GenerationState loaded = nn::GenerationState::load(path, *model);
    auto joined = [&](nn::GenerationState& resumed) {
      const std::vector<std::int64_t> rest = tokens_of(nn::generate(*model, resumed, greedy(6)).tokens);
      std::vector<std::int64_t> all;
      for (std::size_t b = 0; b < 3; ++b) {
        all.insert(all.end(), first.begin() + 4 * b, first.begin() + 4 * (b + 1));
        all.insert(all.end(), rest.begin() + 6 * b, rest.begin() + 6 * (b + 1));
      }
      return all;
    };
    CHECK(joined(loaded) == whole);
    CHECK(joined(copy) == whole);
    CHECK(joined(state) == whole);  // the original, untouched by its clone's steps
  }
  // A Seq2SeqTransformer's state keeps the encoder's memory and the cross-attention caches too.
  for (auto kind : kKinds) {
    INFO("Seq2Seq " << nn::attention_kind_name(kind));
    manual_seed(47);
    nn::Seq2SeqTransformer model(small_config(kind));
    model.to(kFloat64);
    Tensor src = randint(1, 11, {2, 6}), src_lengths = from_vector<std::int64_t>({6, 3}), start = start_tokens(2);
    nn::GenerationState whole_state = model.start(src, src_lengths), state = model.start(src, src_lengths);
    nn::prefill(model, start, {}, whole_state);
    nn::prefill(model, start, {}, state);
    const std::vector<std::int64_t> whole = tokens_of(nn::generate(model, whole_state, greedy(7)).tokens);
    const std::vector<std::int64_t> first = tokens_of(nn::generate(model, state, greedy(3)).tokens);
    state.save(path);
    nn::GenerationState loaded = nn::GenerationState::load(path, model);
    const std::vector<std::int64_t> rest = tokens_of(nn::generate(model, loaded, greedy(4)).tokens);
    for (std::size_t b = 0; b < 2; ++b) {
      std::vector<std::int64_t> joined(first.begin() + 3 * b, first.begin() + 3 * (b + 1));
      joined.insert(joined.end(), rest.begin() + 4 * b, rest.begin() + 4 * (b + 1));
      CHECK(joined == std::vector<std::int64_t>(whole.begin() + 7 * b, whole.begin() + 7 * (b + 1)));
    }
  }
  // Sampling resumes too when its generator does.
  auto model = small_lm(nn::AttentionKind::Softmax, 44);
  Tensor prompt = randint(0, 11, {2, 3});
  Generator uninterrupted(5), interrupted(5);
  const std::vector<std::int64_t> whole = tokens_of(nn::generate(*model, prompt, {}, sampled(8, uninterrupted)).tokens);
  nn::GenerationState state;
  nn::prefill(*model, prompt, {}, state);
  const std::vector<std::int64_t> first = tokens_of(nn::generate(*model, state, sampled(3, interrupted)).tokens);
  state.save(path);
  Generator resumed_generator;
  resumed_generator.set_state(interrupted.seed(), interrupted.offset());
  nn::GenerationState loaded = nn::GenerationState::load(path, *model);
  const std::vector<std::int64_t> rest = tokens_of(nn::generate(*model, loaded, sampled(5, resumed_generator)).tokens);
  for (std::size_t b = 0; b < 2; ++b) {
    std::vector<std::int64_t> joined(first.begin() + 3 * b, first.begin() + 3 * (b + 1));
    joined.insert(joined.end(), rest.begin() + 5 * b, rest.begin() + 5 * (b + 1));
    CHECK(joined == std::vector<std::int64_t>(whole.begin() + 8 * b, whole.begin() + 8 * (b + 1)));
  }
  std::filesystem::remove(path);
}

TEST_CASE("generate: each prompt of a batch of different lengths continues as it would alone") {
  for (auto kind : kKinds) {
    INFO(nn::attention_kind_name(kind));
    auto model = small_lm(kind, 45);
    const std::vector<std::vector<std::int64_t>> prompts{{3, 1, 4, 1, 5, 9}, {2, 6}, {5, 3, 5, 8}, {9}};
    std::vector<Tensor> rows;
    for (const auto& p : prompts) rows.push_back(from_vector(p, {static_cast<std::int64_t>(p.size())}));
    const nn::GenerationResult batch = nn::generate(*model, rows, greedy(9));
    REQUIRE(batch.tokens.shape() == Shape{4, 9});
    for (std::size_t b = 0; b < prompts.size(); ++b) {
      INFO("prompt " << b);
      const std::vector<std::int64_t> alone = tokens_of(nn::generate(*model, row(prompts[b]), {}, greedy(9)).tokens);
      CHECK(tokens_of(batch.tokens.select(0, static_cast<std::int64_t>(b))) == alone);
    }
    // The next-token logits of the batch's first pass, too.
    const nn::PaddedPrompts padded = nn::pad_prompts(rows);
    nn::GenerationState state;
    nn::prefill(*model, padded.tokens, padded.lengths, state);
    for (std::size_t b = 0; b < prompts.size(); ++b) {
      nn::GenerationState alone;
      nn::prefill(*model, row(prompts[b]), {}, alone);
      CHECK(max_gap(state.next_logits.select(0, static_cast<std::int64_t>(b)), alone.next_logits.select(0, 0)) < 1e-10);
    }
  }
}

TEST_CASE("generate: a sequence that produces the stop token stops there; the others go on") {
  auto model = small_lm(nn::AttentionKind::Softmax, 46);
  Tensor prompt = randint(0, 11, {3, 4});
  const std::int64_t n = 10;
  const std::vector<std::int64_t> free_run = tokens_of(nn::generate(*model, prompt, {}, greedy(n)).tokens);
  // A stop token that some sequences produce and others never do.
  std::int64_t stop = -1;
  for (std::int64_t token = 0; token < 11 && stop < 0; ++token) {
    int producing = 0;
    for (std::int64_t b = 0; b < 3; ++b)
      producing += std::count(free_run.begin() + b * n, free_run.begin() + (b + 1) * n, token) > 0;
    if (producing > 0 && producing < 3) stop = token;
  }
  REQUIRE(stop >= 0);
  nn::GenerationOptions o = greedy(n);
  o.stop_token = stop;
  o.pad_token = -1;
  nn::GenerationState state;
  nn::prefill(*model, prompt, {}, state);
  const nn::GenerationResult stopped = nn::generate(*model, state, o);
  REQUIRE(stopped.tokens.shape() == Shape{3, n});
  const std::vector<std::int64_t> got = tokens_of(stopped.tokens), lengths = tokens_of(stopped.lengths);
  for (std::int64_t b = 0; b < 3; ++b) {
    INFO("sequence " << b);
    const auto begin = free_run.begin() + b * n, end = begin + n;
    const auto first_stop = std::find(begin, end, stop);
    const std::int64_t expected_length = first_stop == end ? n : (first_stop - begin) + 1;
    CHECK(lengths[b] == expected_length);
    for (std::int64_t i = 0; i < n; ++i) CHECK(got[b * n + i] == (i < expected_length ? begin[i] : -1));
    CHECK(static_cast<bool>(state.finished[b]) == (expected_length < n || begin[n - 1] == stop));
  }
  // Generating further: the stopped sequences make nothing, the others continue.
  const std::vector<bool> finished_before = state.finished;
  const std::vector<std::int64_t> more_lengths = tokens_of(nn::generate(*model, state, o).lengths);
  for (std::size_t b = 0; b < 3; ++b) CHECK((more_lengths[b] == 0) == static_cast<bool>(finished_before[b]));
}
