// Writes the fuzzers' seed corpora: valid files of every shape of content the loaders accept and
// corrupt variants of each kind they must reject, so fuzzing starts from both sides of every
// check. The output is committed under tests/fuzz/corpus/; rerun after changing the formats:
//   build-fuzz/tests/fuzz/make_corpus tests/fuzz/corpus
#include <filesystem>
#include <fstream>

#include "fuzz_run.h"

using namespace ember;
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  EMBER_CHECK(out.good(), "make_corpus: cannot write {}", path.string());
}

// 8-byte little-endian header length + header + data.
std::string image(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  return out + header + data;
}

// A valid file saved by Ember, returned as bytes.
std::string saved(const nn::StateDict& tensors, const nn::Metadata& metadata, const fs::path& scratch) {
  nn::save_safetensors(tensors, scratch.string(), metadata);
  return read_file(scratch);
}

// Corrupt variants of a valid image, one per way a file can be broken.
std::vector<std::pair<std::string, std::string>> corruptions(const std::string& valid) {
  std::string wrong_length = valid, bad_utf8 = valid, bad_json = valid;
  wrong_length[0] = static_cast<char>(wrong_length[0] + 8);
  bad_utf8[10] = static_cast<char>(0xC0);
  bad_json[8] = '[';
  return {{"truncated_data", valid.substr(0, valid.size() - 3)},
          {"truncated_header", valid.substr(0, 20)},
          {"trailing_bytes", valid + "xyz"},
          {"wrong_header_length", wrong_length},
          {"bad_utf8", bad_utf8},
          {"bad_json", bad_json}};
}

void safetensors_corpus(const fs::path& dir, const fs::path& fixtures) {
  fs::create_directories(dir);
  const fs::path scratch = dir / "scratch.tmp";
  Generator gen(1);
  const nn::StateDict mixed = {{"weight", randn({2, 3}, kFloat32, &gen)},
                               {"bias", randn({3}, kFloat64, &gen)},
                               {"ids", randint(-5, 5, {2, 2}, kInt64, &gen)},
                               {"step", zeros({}, kInt64)},
                               {"empty", zeros({0, 4})}};
  const std::string valid = saved(mixed, {{"format", "pt"}, {"note", "caf\u00e9"}}, scratch);
  write_file(dir / "valid_mixed.safetensors", valid);
  write_file(dir / "valid_empty.safetensors", saved({}, {}, scratch));
  write_file(dir / "valid_scalar.safetensors", saved({{"x", full({}, 2.5, kFloat64)}}, {}, scratch));
  write_file(dir / "valid_reference.safetensors", read_file(fixtures / "reference.safetensors"));
  for (const auto& [name, bytes] : corruptions(valid)) write_file(dir / ("corrupt_" + name + ".safetensors"), bytes);
  // Header-level mistakes the byte corruptions above rarely reach.
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"unknown_dtype", R"({"x":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}})"},
      {"unsupported_dtype", R"({"x":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})"},
      {"size_mismatch", R"({"x":{"dtype":"F32","shape":[2,3],"data_offsets":[0,4]}})"},
      {"shape_overflow", R"({"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})"},
      {"negative_dim", R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})"},
      {"overlap", R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"y":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})"},
      {"gap", R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})"},
      {"duplicate_key", R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})"},
      {"extra_field", R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}})"},
      {"metadata_not_string", R"({"__metadata__":{"k":1},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})"},
      {"header_not_object", R"([1,2,3])"},
  };
  for (const auto& [name, header] : headers) write_file(dir / ("corrupt_" + name + ".safetensors"), image(header, std::string(8, '\0')));
  // Well-formed, but past what a tensor can describe: 0 elements, yet strides past int64.
  write_file(dir / "edge_huge_dim_times_zero.safetensors",
             image(R"({"x":{"dtype":"F32","shape":[0,9223372036854775807,4],"data_offsets":[0,0]}})", ""));
  fs::remove(scratch);
}

void checkpoint_corpus(const fs::path& dir) {
  fs::create_directories(dir);
  const fs::path scratch = dir / "scratch.tmp";
  manual_seed(0);
  fuzz::TinyRun run;
  copy_task::save_checkpoint(scratch.string(), run.parts(), 0, 0.0, false, fuzz::tiny_identity());
  const std::string fresh = read_file(scratch);
  write_file(dir / "valid_fresh.ckpt", fresh);
  // After a few updates the optimizer state is non-zero and the scheduler has moved.
  for (int step = 0; step < 3; ++step) {
    Tensor tokens = randint(0, 5, {2, 4});
    Tensor loss = cross_entropy(run.model->forward(tokens), tokens);
    run.optimizer->zero_grad();
    loss.backward();
    run.optimizer->step();
    run.scheduler->step();
  }
  copy_task::save_checkpoint(scratch.string(), run.parts(), 3, 1.5, true, fuzz::tiny_identity());
  const std::string trained = read_file(scratch);
  write_file(dir / "valid_trained.ckpt", trained);
  for (const auto& [name, bytes] : corruptions(trained)) write_file(dir / ("corrupt_" + name + ".ckpt"), bytes);
  // Valid files that are the wrong checkpoint: another run's identity, another model's shapes.
  copy_task::save_checkpoint(scratch.string(), run.parts(), 3, 1.5, false, {{"run", "other"}});
  write_file(dir / "wrong_identity.ckpt", read_file(scratch));
  nn::StateDict model_only = run.model->state_dict();
  nn::save_safetensors(model_only, scratch.string(), fuzz::tiny_identity());
  write_file(dir / "model_only.ckpt", read_file(scratch));
  fs::remove(scratch);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: make_corpus OUTPUT_DIR   (writes OUTPUT_DIR/safetensors and OUTPUT_DIR/checkpoint)\n");
    return 2;
  }
  const fs::path out = argv[1];
  safetensors_corpus(out / "safetensors", EMBER_TEST_FIXTURES_DIR);
  checkpoint_corpus(out / "checkpoint");
  fmt::print("wrote {}\n", out.string());
  return 0;
}
