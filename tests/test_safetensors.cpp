// safetensors checkpoints: round trips, the loader's checks on hand-made corrupt files, atomic
// writes, and interop with independent stdlib-only Python code in tests/fixtures/.
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "child_process.h"
#include "helpers.h"
#include "nn/serialize.h"

#ifdef EMBER_WITH_CUDA
#include "cuda/context.h"
#endif

using namespace ember;
using namespace ember::testing;
namespace fs = std::filesystem;

namespace {

// A path in the temp dir unique to this process, so ctest may run cases in parallel.
std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / fmt::format("ember_safetensors_{}_{}", ::getpid(), name)).string();
}

// How many temporary files of write_file_atomically (path.tmp.*) are left beside path.
int temporaries_beside(const std::string& path) {
  const fs::path target(path);
  const std::string prefix = target.filename().string() + ".tmp";
  int count = 0;
  for (const auto& entry : fs::directory_iterator(target.parent_path()))
    if (entry.path().filename().string().rfind(prefix, 0) == 0) ++count;
  return count;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

std::string le64(std::uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((value >> (8 * i)) & 0xFF);
  return bytes;
}

// A file with the given header text and `data_bytes` bytes of data (header length is exact).
std::string file_with(const std::string& header, std::size_t data_bytes) {
  return le64(header.size()) + header + std::string(data_bytes, '\x2a');
}

// Raw bytes of a tensor's elements in row-major order.
std::string bytes_of(const Tensor& t) {
  return dispatch_all(t.dtype(), [&]<typename T>() {
    std::vector<T> values = t.to_vector<T>();
    return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  });
}

void check_same(const Tensor& loaded, const Tensor& saved) {
  CHECK(loaded.shape() == saved.shape());
  CHECK(loaded.dtype() == saved.dtype());
  CHECK(loaded.device() == kCPU);
  CHECK(bytes_of(loaded) == bytes_of(saved));
}

std::string fixtures_dir() { return EMBER_TEST_FIXTURES_DIR; }

}  // namespace

TEST_CASE("safetensors: round trip keeps dtype, shape, bytes and metadata") {
  manual_seed(0);
  Tensor wide = randn({4, 3}, kFloat64);
  nn::StateDict saved = {
      {"layer.weight", randn({3, 5})},
      {"layer.bias", randn({5}, kFloat64)},
      {"tokens", from_vector<std::int64_t>({-3, 0, 7, std::int64_t{1} << 62}, {2, 2})},
      {"scale", full({}, -0.0, kFloat64)},
      {"nothing", zeros({0, 3})},
      {"transposed", wide.t()},
      {"grad_leaf", randn({2}).requires_grad_()},
  };
  REQUIRE_FALSE(saved["transposed"].is_contiguous());
  nn::Metadata metadata = {{"format", "pt"}, {"step", "1200"}, {"note", "caf\u00e9"}};
  const std::string path = temp_path("roundtrip.safetensors");
  nn::save_safetensors(saved, path, metadata);

  CHECK(temporaries_beside(path) == 0);
  const std::string raw = read_file(path);
  REQUIRE(raw.size() >= 8);
  std::uint64_t header_bytes = 0;
  std::memcpy(&header_bytes, raw.data(), 8);
  CHECK(header_bytes % 8 == 0);

  nn::Metadata loaded_metadata = {{"stale", "entry"}};
  nn::StateDict loaded = nn::load_safetensors(path, &loaded_metadata);
  CHECK(loaded_metadata == metadata);
  REQUIRE(loaded.size() == saved.size());
  for (const auto& [name, tensor] : saved) {
    INFO("tensor " << name);
    REQUIRE(loaded.count(name) == 1);
    check_same(loaded.at(name), tensor);
  }
  CHECK(loaded.at("scale").dim() == 0);
  CHECK(std::signbit(loaded.at("scale").item<double>()));

  // Saving again over an existing file replaces it.
  nn::save_safetensors({{"only", ones({2})}}, path);
  loaded = nn::load_safetensors(path, &loaded_metadata);
  CHECK(loaded.size() == 1);
  CHECK(loaded_metadata.empty());
  fs::remove(path);
}

TEST_CASE("safetensors: an empty state dict is a valid file") {
  const std::string path = temp_path("empty.safetensors");
  nn::save_safetensors({}, path);
  CHECK(read_file(path) == le64(8) + "{}      ");
  CHECK(nn::load_safetensors(path).empty());
  fs::remove(path);
}

TEST_CASE("safetensors: corrupt files are rejected with the file and the problem") {
  // One valid F32 [2] entry ("a"), and the pieces the cases below bend.
  const std::string f32_2 = R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  struct Case {
    const char* name;
    std::string bytes;
    const char* fragment;
  };
  const std::vector<Case> cases = {
      {"short", "\x01\x02\x03", "shorter than the 8-byte header length"},
      {"huge_header", le64(100'000'001) + "{}", "exceeds the limit of 100000000 bytes"},
      {"header_past_end", le64(64) + "{}      ", "header length 64 runs past the end of the file"},
      {"invalid_json", file_with(R"({"a": )", 0), "not valid JSON"},
      {"bad_utf8", file_with("{\"a\xff\": 1}", 0), "not valid UTF-8"},
      {"overlong_utf8", file_with("{\"\xc0\xaf\": 1}", 0), "not valid UTF-8"},
      {"array", file_with("[1, 2]", 0), "header is a JSON array, not an object"},
      {"entry_not_object", file_with(R"({"a": 5})", 0), "entry is a JSON number, not an object"},
      {"unknown_dtype", file_with(R"({"a":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}})", 8),
       "unknown dtype \"F31\""},
      {"unsupported_dtype", file_with(R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", 4),
       "unsupported dtype F16"},
      {"dtype_not_string", file_with(R"({"a":{"dtype":32,"shape":[2],"data_offsets":[0,8]}})", 8),
       "dtype is a JSON number"},
      {"negative_dim", file_with(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})", 0),
       "has entry -1, not a non-negative integer"},
      {"float_dim", file_with(R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", 8),
       "has entry 2.0, not a non-negative integer"},
      {"numel_overflow",
       file_with(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,2],"data_offsets":[0,0]}})", 0),
       "overflows"},
      {"bytes_overflow",
       file_with(R"({"a":{"dtype":"F64","shape":[4294967296,1073741824],"data_offsets":[0,0]}})", 0),
       "overflows"},
      {"dim_too_large",
       file_with(R"({"a":{"dtype":"F32","shape":[0,9223372036854775808],"data_offsets":[0,0]}})", 0),
       "too large for a tensor dimension"},
      {"byte_count", file_with(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
       "hold 8 bytes but shape [3] of F32 needs 12 bytes"},
      {"begin_after_end", file_with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 8),
       "data_offsets [8, 4] begin after their end"},
      {"offsets_arity", file_with(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[0]}})", 0),
       "not two non-negative integers"},
      {"overlap", file_with(R"({"a":)" + f32_2 + R"(,"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
       "tensor \"b\" at bytes [4, 12) overlaps"},
      {"gap", file_with(R"({"a":)" + f32_2 + R"(,"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})", 16),
       "gap of 4 bytes before tensor \"b\""},
      {"not_from_zero", file_with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
       "does not start at offset 0"},
      {"trailing", file_with(R"({"a":)" + f32_2 + "}", 12), "4 trailing bytes after the last tensor"},
      {"past_end", file_with(R"({"a":)" + f32_2 + "}", 4), "runs past the end of the file: offsets reach 8"},
      {"missing_field", file_with(R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", 8), "missing field \"shape\""},
      {"extra_field", file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", 8),
       "unexpected field \"x\""},
      {"duplicate_tensor", file_with(R"({"a":)" + f32_2 + R"(,"a":)" + f32_2 + "}", 8), "duplicate key \"a\""},
      {"duplicate_field", file_with(R"({"a":{"dtype":"F32","dtype":"F64","shape":[2],"data_offsets":[0,8]}})", 8),
       "duplicate key \"dtype\""},
      {"metadata_not_object", file_with(R"({"__metadata__":[]})", 0), "__metadata__ is a JSON array"},
      {"metadata_value", file_with(R"({"__metadata__":{"step":12}})", 0), "value of \"step\" is a JSON number"},
  };
  for (const Case& c : cases) {
    const std::string path = temp_path(std::string(c.name) + ".safetensors");
    write_file(path, c.bytes);
    INFO("case " << std::string(c.name));
    CHECK_ERROR_CONTAINS(nn::load_safetensors(path), "load_safetensors", path.c_str(), c.fragment);
    fs::remove(path);
  }
}

TEST_CASE("safetensors: a missing file names the file") {
  const std::string path = temp_path("does_not_exist.safetensors");
  CHECK_ERROR_CONTAINS(nn::load_safetensors(path), path.c_str(), "cannot open", "No such file");
}

TEST_CASE("safetensors: save rejects what it cannot write") {
  const std::string path = temp_path("save_errors.safetensors");
  CHECK_ERROR_CONTAINS(nn::save_safetensors({{"__metadata__", zeros({1})}}, path), path.c_str(), "reserved");
  CHECK_ERROR_CONTAINS(nn::save_safetensors({{"w", Tensor()}}, path), path.c_str(), "\"w\" is undefined");
  CHECK_ERROR_CONTAINS(nn::save_safetensors({{"bad\xff", zeros({1})}}, path), path.c_str(), "valid UTF-8");
  CHECK_FALSE(fs::exists(path));
  CHECK(temporaries_beside(path) == 0);
  const std::string in_missing_dir = temp_path("no_such_dir") + "/model.safetensors";
  CHECK_ERROR_CONTAINS(nn::save_safetensors({{"w", zeros({1})}}, in_missing_dir), "cannot write",
                       in_missing_dir.c_str());
}

TEST_CASE("safetensors: write_file_atomically leaves the old file when writing fails") {
  const std::string path = temp_path("atomic.bin");
  nn::write_file_atomically(path, std::string("old contents"));
  CHECK(read_file(path) == "old contents");
  CHECK_ERROR_CONTAINS(nn::write_file_atomically(path,
                                                 [](std::ostream& out) {
                                                   out << "half a new fi";
                                                   fail("simulated failure while writing");
                                                 }),
                       "simulated failure");
  CHECK(read_file(path) == "old contents");
  CHECK(temporaries_beside(path) == 0);
  nn::write_file_atomically(path, std::string("new contents"));
  CHECK(read_file(path) == "new contents");
  fs::remove(path);
}

TEST_CASE("safetensors: loads reference.safetensors written by independent Python") {
  // tests/fixtures/make_safetensors_fixture.py wrote it, stdlib only; the values here are its.
  nn::Metadata metadata;
  nn::StateDict loaded = nn::load_safetensors(fixtures_dir() + "/reference.safetensors", &metadata);
  CHECK(metadata == nn::Metadata{{"format", "pt"},
                                 {"note", "caf\u00e9 \u2713 written by make_safetensors_fixture.py"}});
  REQUIRE(loaded.size() == 5);
  check_same(loaded.at("weight"), from_vector<float>({1.5f, -2.25f, 0.1f, 3.0e-39f, -0.0f, 65504.0f}, {2, 3}));
  check_same(loaded.at("bias"), from_vector<double>({3.141592653589793, -1e300, 5e-324}));
  check_same(loaded.at("step"), full({}, 123456789012345.0, kInt64));
  check_same(loaded.at("ids"),
             from_vector<std::int64_t>({-1, 0, std::int64_t{1} << 62, std::numeric_limits<std::int64_t>::min()},
                                       {2, 2}));
  check_same(loaded.at("empty"), zeros({0, 4}));
}

TEST_CASE("safetensors: an independent Python reader agrees with Ember's writer") {
  if (!run_program({"python3", "--version"}).succeeded()) EMBER_SKIP("python3 not found");
  Tensor base = from_vector<float>({1.5f, -0.0f, 0.1f, 3.0e-39f, 65504.0f, -7.25f}, {2, 3});
  nn::StateDict saved = {
      {"w", base.t()},  // non-contiguous: written as the row-major transpose
      {"b", from_vector<double>({3.141592653589793, -1e300, 5e-324})},
      {"n", from_vector<std::int64_t>({-9007199254740993}).reshape({})},
      {"z", zeros({0}, kInt64)},
  };
  const std::string path = temp_path("interop.safetensors");
  nn::save_safetensors(saved, path, {{"framework", "ember"}});

  const ChildOutcome checker = run_program({"python3", fixtures_dir() + "/check_safetensors.py", path});
  INFO(checker.describe());
  REQUIRE(checker.succeeded());
  const std::string output = checker.output;
  fs::remove(path);

  const auto report = nlohmann::json::parse(output);
  CHECK(report["metadata"] == nlohmann::json{{"framework", "ember"}});
  REQUIRE(report["tensors"].size() == saved.size());
  const std::map<DType, std::string> names = {{kFloat32, "F32"}, {kFloat64, "F64"}, {kInt64, "I64"}};
  for (const auto& [name, tensor] : saved) {
    INFO("tensor " << name);
    const auto& info = report["tensors"].at(name);
    CHECK(info["dtype"] == names.at(tensor.dtype()));
    CHECK(info["shape"].get<Shape>() == tensor.shape());
    // The raw bytes are exactly Ember's, and Python decodes them to the same numbers.
    std::string hex;
    for (unsigned char byte : bytes_of(tensor)) hex += fmt::format("{:02x}", byte);
    CHECK(info["hex"] == hex);
    dispatch_all(tensor.dtype(),
                 [&]<typename T>() { CHECK(info["values"].get<std::vector<T>>() == tensor.to_vector<T>()); });
  }
}

#ifdef EMBER_WITH_CUDA
TEST_CASE("safetensors: CUDA tensors are saved from host copies") {
  EMBER_REQUIRE_CUDA();
  Tensor host = randn({3, 4});
  const std::string path = temp_path("cuda.safetensors");
  nn::save_safetensors({{"w", host.to(kCUDA)}}, path);
  check_same(nn::load_safetensors(path).at("w"), host);
  fs::remove(path);
}
#endif
