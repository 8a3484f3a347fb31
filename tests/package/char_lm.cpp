// A character-level language model trained on a text file, written only against Ember's installed
// public API (<ember/ember.h>, target ember::ember): the package test builds it out of tree
// against `cmake --install`'s output. Exits 1 unless the training loss falls, and checks that a
// saved model loads back to the same predictions.
//   char_lm TEXT_FILE [STEPS]
#include <ember/ember.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <string>

using namespace ember;

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: char_lm TEXT_FILE [STEPS]\n");
    return 2;
  }
  const int steps = argc > 2 ? std::stoi(argv[2]) : 60;
  std::ifstream in(argv[1]);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const std::int64_t context = 32, batch = 8;
  if (static_cast<std::int64_t>(text.size()) <= context + 1) {
    fmt::print(stderr, "char_lm: {} is too short\n", argv[1]);
    return 2;
  }

  // Vocabulary: the distinct bytes of the text, in byte order.
  std::map<char, std::int64_t> ids;
  for (char ch : text) ids.emplace(ch, 0);
  std::string chars;
  for (auto& [ch, id] : ids) {
    id = static_cast<std::int64_t>(chars.size());
    chars.push_back(ch);
  }
  std::vector<std::int64_t> encoded;
  for (char ch : text) encoded.push_back(ids[ch]);
  const Tensor corpus = from_vector(encoded);

  manual_seed(0);
  nn::TransformerConfig config;
  config.vocab_size = static_cast<std::int64_t>(chars.size());
  config.d_model = 32;
  config.heads = 2;
  config.decoder_layers = 2;
  config.d_ff = 64;
  config.dropout = 0.0;
  config.norm_first = true;
  nn::CausalLM model(config);
  optim::AdamW opt(model.parameters(), {.lr = 3e-3});

  // Windows of context + 1 characters at random offsets; predict each next character.
  const auto window_batch = [&] {
    std::vector<Tensor> rows;
    for (std::int64_t start : randint(0, corpus.numel() - context - 1, {batch}).to_vector<std::int64_t>())
      rows.push_back(corpus.narrow(0, start, context + 1));
    return stack(rows);
  };
  std::vector<double> losses;
  for (int step = 0; step < steps; ++step) {
    const Tensor windows = window_batch();
    const Tensor logits = model.forward(windows.narrow(1, 0, context));
    const Tensor loss = cross_entropy(logits, windows.narrow(1, 1, context).contiguous());
    opt.zero_grad();
    loss.backward();
    opt.step();
    losses.push_back(loss.item<double>());
    if (step % 10 == 0 || step == steps - 1) fmt::print("step {:3d}  loss {:.4f}\n", step, losses.back());
  }

  // Greedy continuation of the text's first characters, through the recurrent (KV cache) path.
  const Tensor prompt = corpus.narrow(0, 0, 8).reshape({1, 8});
  std::string sample;
  for (std::int64_t id : nn::generate_greedy(model, prompt, 24).to_vector<std::int64_t>()) sample.push_back(chars[id]);
  fmt::print("sample: {:?}\n", sample);

  // A saved and reloaded model predicts exactly what the trained one does.
  const std::string path = (std::filesystem::temp_directory_path() / fmt::format("char_lm_{}.safetensors", getpid())).string();
  nn::save(model, path);
  nn::CausalLM reloaded(config);
  nn::load(reloaded, path);
  std::filesystem::remove(path);
  model.eval();
  reloaded.eval();
  const Tensor probe = corpus.narrow(0, 0, context).reshape({1, context});
  const bool same = max(abs(model.forward(probe) - reloaded.forward(probe))).item<double>() == 0.0;

  const auto mean = [](auto first, auto last) { return std::accumulate(first, last, 0.0) / static_cast<double>(last - first); };
  const double start = mean(losses.begin(), losses.begin() + 5), end = mean(losses.end() - 5, losses.end());
  fmt::print("mean loss of the first 5 steps {:.4f}, of the last 5 {:.4f}; reload {}\n", start, end,
             same ? "identical" : "DIFFERS");
  return end < 0.8 * start && same ? 0 : 1;
}
