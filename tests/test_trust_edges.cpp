// What happens just outside the ordinary tests: each case here was a silent wrong result or a
// crash (issue 12's numbered list). In-place changes to tensors that backward saved, overlapping
// in-place writes, one leaf shared by two threads, an undefined tensor, an absurd thread count,
// module registration (duplicates, sharing, tying, ModuleList) and the token embedding's scale.
// The cases that used to crash run in a child process (child_process.h), so a crash fails the
// case rather than the runner.
#include <cmath>
#include <filesystem>
#include <thread>
#include <unistd.h>

#include "child_process.h"
#include "helpers.h"

using namespace ember;
using namespace ember::testing;

namespace {

// The message of the ember::Error that fn throws, or "" when it throws none.
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& fragment) {
  return text.find(fragment) != std::string::npos;
}

}  // namespace

// ---- 1. in-place change of a tensor that backward needs

TEST_CASE("edge case 1: an in-place change to a tensor saved for backward makes backward fail") {
  SUBCASE("a leaf, changed under NoGradGuard") {
    Tensor x = randn({3}).requires_grad_();
    Tensor y = sum(x * x);
    {
      NoGradGuard g;
      x.add_(ones({3}));
    }
    const std::string message = error_of([&] { y.backward(); });
    INFO(message);
    CHECK(contains(message, "backward of mul"));
    CHECK(contains(message, "[3]"));
    CHECK(contains(message, "version 1; expected version 0"));
    CHECK_FALSE(x.grad().defined());  // nothing was accumulated
  }
  SUBCASE("a non-leaf saved by the op that consumed it") {
    Tensor x = randn({3}).requires_grad_();
    Tensor y = x * 2.0;
    Tensor z = sum(exp(y));  // exp saves its output, mul(y, y) below saves y itself
    Tensor w = sum(y * y);
    {
      NoGradGuard g;
      y.mul_(3.0);
    }
    CHECK(contains(error_of([&] { w.backward(); }), "backward of mul"));
    // exp's saved output is a different storage: its backward is unaffected.
    z.backward();
    CHECK(x.grad().defined());
  }
  SUBCASE("an optimizer step between forward and backward") {
    Tensor w = randn({2, 2}).requires_grad_();
    Tensor loss = sum(matmul(randn({3, 2}).requires_grad_(), w));  // saves w for the left gradient
    w.set_grad(ones({2, 2}));
    optim::SGD opt({w}, {.lr = 0.1});
    opt.step();
    CHECK(contains(error_of([&] { loss.backward(); }), "backward of matmul"));
  }
  SUBCASE("changes that backward does not depend on are allowed") {
    Tensor x = randn({3}).requires_grad_();
    Tensor y = sum(x * 2.0);  // mul by a scalar saves nothing
    {
      NoGradGuard g;
      x.add_(ones({3}));
    }
    y.backward();
    check_values(x.grad(), {2, 2, 2});
    // ...and the version counter counts every in-place write to the storage, through any view.
    Tensor t = zeros({4});
    const std::uint64_t before = t.version();
    t.narrow(0, 1, 2).fill_(1.0);
    t.add_(ones({4}));
    t.mul_(2.0);
    t.copy_(ones({4}));
    CHECK(t.version() == before + 4);
    CHECK(t.detach().version() == t.version());
  }
}

// ---- 2. overlapping in-place writes

TEST_CASE("edge case 2: overlapping in-place writes give the right values or a clear error") {
  SUBCASE("copy_ from its own transpose") {
    Tensor x = arange(9, kFloat64).reshape({3, 3});
    x.copy_(x.transpose(0, 1));
    check_values(x, {0, 3, 6, 1, 4, 7, 2, 5, 8});
  }
  SUBCASE("add_ of a shifted view of itself") {
    Tensor x = arange(6, kFloat64);
    x.narrow(0, 1, 5).add_(x.narrow(0, 0, 5));
    check_values(x, {0, 1, 3, 5, 7, 9});  // each element plus its original left neighbour
  }
  SUBCASE("a broadcast read of its own first row") {
    Tensor x = arange(6, kFloat64).reshape({3, 2});
    x.add_(x.select(0, 0));
    check_values(x, {0, 2, 2, 4, 4, 6});
  }
  SUBCASE("x.add_(x) is the same element for element, and stays correct") {
    Tensor x = arange(4, kFloat64);
    x.add_(x);
    check_values(x, {0, 2, 4, 6});
  }
  SUBCASE("an expanded destination is refused by every in-place op") {
    Tensor base = zeros({1, 3});
    Tensor expanded = base.expand({4, 3});
    for (const auto& [name, write] : std::vector<std::pair<std::string, std::function<void()>>>{
             {"add_", [&] { expanded.add_(ones({4, 3})); }},
             {"sub_", [&] { expanded.sub_(ones({4, 3})); }},
             {"mul_", [&] { expanded.mul_(2.0); }},
             {"fill_", [&] { expanded.fill_(1.0); }},
             {"zero_", [&] { expanded.zero_(); }},
             {"copy_", [&] { expanded.copy_(ones({4, 3})); }}}) {
      const std::string message = error_of(write);
      INFO(name << ": " << message);
      CHECK(contains(message, name + ": cannot write in place"));
      CHECK(contains(message, "[4, 3]"));
    }
    check_values(base, {0, 0, 0});  // and nothing was written
  }
}

// ---- 3. one leaf used from two threads

EMBER_CHILD_BODY(two_threads_share_a_leaf) {
  set_num_threads(1);
  Tensor w = ones({64}).requires_grad_();
  constexpr int kIterations = 200;
  auto work = [&] {
    for (int i = 0; i < kIterations; ++i) sum(w * 1.0).backward();
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
  // Every backward adds exactly 1 to each element of w.grad.
  for (double g : w.grad().to_vector<double>()) {
    if (g != 2 * kIterations) {
      std::fprintf(stderr, "w.grad holds %g, expected %d\n", g, 2 * kIterations);
      return 1;
    }
  }
  return 0;
}

TEST_CASE("edge case 3: two threads backward into one leaf without crashing or losing a gradient") {
  for (int attempt = 0; attempt < 3; ++attempt) {  // the crash was a race: give it several chances
    const ChildOutcome outcome = run_in_child("two_threads_share_a_leaf");
    INFO(outcome.describe());
    REQUIRE(outcome.succeeded());
  }
}

TEST_CASE("concurrency: two threads sharing a leaf accumulate every gradient (in process)") {
  const int saved_threads = get_num_threads();
  CHECK(run_child_body("two_threads_share_a_leaf") == 0);
  set_num_threads(saved_threads);
}

// ---- 4. accessors of an undefined tensor

EMBER_CHILD_BODY(undefined_tensor_accessors) {
  Tensor u;
  const std::vector<std::pair<std::string, std::function<void()>>> calls{
      {"shape", [&] { (void)u.shape(); }},        {"strides", [&] { (void)u.strides(); }},
      {"offset", [&] { (void)u.offset(); }},      {"dtype", [&] { (void)u.dtype(); }},
      {"device", [&] { (void)u.device(); }},      {"dim", [&] { (void)u.dim(); }},
      {"size", [&] { (void)u.size(0); }},         {"stride", [&] { (void)u.stride(0); }},
      {"numel", [&] { (void)u.numel(); }},        {"is_contiguous", [&] { (void)u.is_contiguous(); }},
      {"storage", [&] { (void)u.storage(); }},    {"version", [&] { (void)u.version(); }},
      {"data_ptr", [&] { (void)u.data_ptr<float>(); }}, {"raw_data", [&] { (void)u.raw_data(); }},
      {"item", [&] { (void)u.item<float>(); }},   {"to_vector", [&] { (void)u.to_vector<float>(); }},
      {"to", [&] { (void)u.to(kFloat64); }},      {"clone", [&] { (void)u.clone(); }},
      {"contiguous", [&] { (void)u.contiguous(); }}, {"detach", [&] { (void)u.detach(); }},
      {"view", [&] { (void)u.view({1}); }},       {"reshape", [&] { (void)u.reshape({1}); }},
      {"flatten", [&] { (void)u.flatten(); }},    {"transpose", [&] { (void)u.transpose(0, 1); }},
      {"t", [&] { (void)u.t(); }},                {"permute", [&] { (void)u.permute({0}); }},
      {"slice", [&] { (void)u.slice(0, 0, 1); }}, {"narrow", [&] { (void)u.narrow(0, 0, 1); }},
      {"select", [&] { (void)u.select(0, 0); }},  {"unsqueeze", [&] { (void)u.unsqueeze(0); }},
      {"squeeze", [&] { (void)u.squeeze(); }},    {"expand", [&] { (void)u.expand({2}); }},
      {"sum", [&] { (void)u.sum(); }},            {"mean", [&] { (void)u.mean(); }},
      {"matmul", [&] { (void)u.matmul(ones({1})); }}, {"zero_", [&] { u.zero_(); }},
      {"fill_", [&] { u.fill_(1.0); }},           {"copy_", [&] { u.copy_(ones({1})); }},
      {"add_", [&] { u.add_(ones({1})); }},       {"sub_", [&] { u.sub_(ones({1})); }},
      {"mul_", [&] { u.mul_(2.0); }},             {"requires_grad", [&] { (void)u.requires_grad(); }},
      {"requires_grad_", [&] { u.requires_grad_(); }}, {"is_leaf", [&] { (void)u.is_leaf(); }},
      {"grad", [&] { (void)u.grad(); }},          {"set_grad", [&] { u.set_grad(Tensor()); }},
      {"grad_fn", [&] { (void)u.grad_fn(); }},    {"backward", [&] { u.backward(); }},
  };
  int wrong = 0;
  for (const auto& [name, call] : calls) {
    const std::string message = error_of(call);
    if (!contains(message, name + ": called on an undefined tensor")) {
      std::fprintf(stderr, "%s: threw \"%s\"\n", name.c_str(), message.c_str());
      ++wrong;
    }
  }
  std::printf("%zu accessors checked\n", calls.size());
  return wrong == 0 ? 0 : 1;
}

TEST_CASE("edge case 4: every accessor of an undefined Tensor throws ember::Error naming itself") {
  const ChildOutcome outcome = run_in_child("undefined_tensor_accessors");
  INFO(outcome.describe());
  CHECK(outcome.succeeded());
  CHECK(contains(outcome.output, "48 accessors checked"));
  Tensor u;
  CHECK_FALSE(u.defined());  // the one question an undefined tensor answers
}

// ---- 5. an absurd thread count

EMBER_CHILD_BODY(absurd_thread_count) {
  const int before = get_num_threads();
  const std::string message = error_of([] { set_num_threads(100000); });
  if (!contains(message, "set_num_threads: 100000 threads requested")) {
    std::fprintf(stderr, "set_num_threads(100000) threw \"%s\"\n", message.c_str());
    return 1;
  }
  if (get_num_threads() != before) return 1;
  // A parallel op after the refusal runs on the old thread count.
  const double total = sum(ones({1 << 20}, kFloat64)).item<double>();
  return total == double(1 << 20) ? 0 : 1;
}

TEST_CASE("edge case 5: set_num_threads(100000) is refused and parallel ops keep working") {
  const ChildOutcome outcome = run_in_child("absurd_thread_count");
  INFO(outcome.describe());
  CHECK(outcome.succeeded());
  CHECK(max_num_threads() >= 4);
  const int saved = get_num_threads();
  set_num_threads(max_num_threads());  // the bound itself is allowed
  CHECK(get_num_threads() == max_num_threads());
  set_num_threads(saved);
}

// ---- 7. module registration

namespace {

struct Twice : nn::Module {
  explicit Twice(std::shared_ptr<nn::Linear> shared) {
    first = register_module("first", shared);
    second = register_module("second", shared);
  }
  std::shared_ptr<nn::Linear> first, second;
};

// An output projection that registers a weight it is given.
struct Projection : nn::Module {
  explicit Projection(const Tensor& tied) { weight = register_parameter("weight", tied); }
  Tensor weight;
};

// A language model whose output projection is its input embedding (weight tying).
struct TiedLM : nn::Module {
  TiedLM() {
    embed = register_module("embed", std::make_shared<nn::Embedding>(7, 4));
    head = register_module("head", std::make_shared<Projection>(embed->weight));
  }
  std::shared_ptr<nn::Embedding> embed;
  std::shared_ptr<Projection> head;
};

}  // namespace

TEST_CASE("edge case 7: module registration refuses duplicate names and lists shared tensors once") {
  SUBCASE("a second parameter, buffer or child under a taken name is refused") {
    nn::Module m;
    m.register_parameter("w", zeros({2}));
    const std::string param = error_of([&] { m.register_parameter("w", zeros({3})); });
    CHECK(contains(param, "cannot register a parameter named 'w'"));
    CHECK(contains(param, "ember::nn::Module"));
    CHECK(contains(error_of([&] { m.register_buffer("w", zeros({3})); }), "already has a parameter"));
    m.register_buffer("b", zeros({1}));
    CHECK(contains(error_of([&] { m.register_parameter("b", zeros({3})); }), "already has a buffer"));
    m.register_module("child", std::make_shared<nn::Linear>(2, 2));
    CHECK(contains(error_of([&] { m.register_module("child", std::make_shared<nn::Linear>(2, 2)); }),
                   "cannot register a child module named 'child'"));
    CHECK(m.named_parameters().size() == 3);  // w, child.weight, child.bias
    CHECK(m.state_dict().size() == 4);        // and the buffer
  }
  SUBCASE("a submodule registered twice appears once, and an optimizer accepts it") {
    Twice m(std::make_shared<nn::Linear>(3, 2));
    auto named = m.named_parameters();
    REQUIRE(named.size() == 2);
    CHECK(named[0].first == "first.weight");
    CHECK(named[1].first == "first.bias");
    CHECK_NOTHROW(optim::Adam(m.parameters()));
  }
  SUBCASE("tied weights: listed once, trained once, saved and loaded as one tensor") {
    manual_seed(3);
    TiedLM model;
    auto named = model.named_parameters();
    REQUIRE(named.size() == 1);
    CHECK(named[0].first == "embed.weight");
    CHECK(model.head->weight.impl() == model.embed->weight.impl());
    // One leaf: a loss through both uses sends both gradients into one .grad.
    Tensor tokens = from_vector<std::int64_t>({1, 2}, {2});
    sum(matmul(model.embed->forward(tokens), model.head->weight.t())).backward();
    CHECK(model.embed->weight.grad().defined());
    CHECK(model.head->weight.grad().impl() == model.embed->weight.grad().impl());

    const auto dir = std::filesystem::temp_directory_path() / fmt::format("ember_tied_{}", ::getpid());
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "tied.safetensors").string();
    nn::save(model, path);
    manual_seed(4);
    TiedLM reloaded;
    CHECK(reloaded.embed->weight.to_vector<float>() != model.embed->weight.to_vector<float>());
    nn::load(reloaded, path);
    CHECK(reloaded.embed->weight.to_vector<float>() == model.embed->weight.to_vector<float>());
    CHECK(reloaded.head->weight.impl() == reloaded.embed->weight.impl());  // still tied
    std::filesystem::remove_all(dir);
  }
  SUBCASE("ModuleList: numbered names, size, indexing, iteration") {
    nn::Module m;
    auto list = m.register_module("layers", std::make_shared<nn::ModuleList<nn::Linear>>());
    list->push_back(std::make_shared<nn::Linear>(2, 3));
    list->push_back(std::make_shared<nn::Linear>(3, 1));
    CHECK(list->size() == 2);
    CHECK((*list)[1]->weight.shape() == Shape{1, 3});
    Tensor x = ones({4, 2});
    for (const auto& layer : *list) x = layer->forward(x);
    CHECK(x.shape() == Shape{4, 1});
    std::vector<std::string> names;
    for (const auto& [name, t] : m.named_parameters()) names.push_back(name);
    CHECK(names == std::vector<std::string>{"layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"});
    CHECK(contains(error_of([&] { (void)(*list)[2]; }), "ModuleList: index 2 out of range"));
  }
  SUBCASE("the Transformers hold their layers in ModuleLists") {
    nn::TransformerConfig c;
    c.vocab_size = 5;
    c.d_model = 8;
    c.heads = 2;
    c.d_ff = 8;
    c.decoder_layers = 2;
    nn::CausalLM lm(c);
    auto state = lm.state_dict();
    CHECK(state.contains("layers.1.ffn.fc1.weight"));
  }
}

// ---- 8. token embedding scale

TEST_CASE("edge case 8: scaled token embeddings have the scale of the positional encoding") {
  manual_seed(0);
  constexpr std::int64_t d = 256, vocab = 512;
  nn::TransformerConfig config;
  config.vocab_size = vocab;
  config.d_model = d;
  config.dropout = 0.0;
  nn::TokenEmbedding embed(config);
  // Raw entries are N(0, 1/d); scaled by sqrt(d) in forward they are N(0, 1).
  const double raw_var = mean(embed.embedding->weight * embed.embedding->weight).item<double>();
  CHECK(raw_var == doctest::Approx(1.0 / d).epsilon(0.05));
  NoGradGuard g;
  Tensor tokens = arange(vocab).reshape({1, vocab});
  Tensor with_position = embed.forward(tokens);  // (1, vocab, d): scaled embedding + encoding
  Tensor at_zero = embed.forward(zeros({1, 1}, kInt64));
  const double var = mean(with_position * with_position).item<double>();
  CHECK(var > 1.0);  // unit token variance plus the encoding's 0.5
  CHECK(var < 2.0);  // not d (= 256) as with N(0, 1) entries
  CHECK(at_zero.shape() == Shape{1, 1, d});
}
