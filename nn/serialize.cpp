// safetensors checkpoints and atomic file writes (see nn/serialize.h for the format).
//
// Files and in-memory buffers go through one parser that reads its input front to back. Loading
// trusts nothing in the input: every size is checked against the file's real size before
// anything is allocated from it, so a corrupt or hostile header can cause an ember::Error but never
// a huge allocation or an out-of-bounds read. The checks follow the reference Rust implementation
// (huggingface/safetensors) and are stricter in two places: entries may hold no fields beyond
// dtype/shape/data_offsets, and a key repeated in any JSON object is an error rather than silently
// shadowing the first.
#include "nn/serialize.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <optional>
#include <set>
#include <string_view>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/factory.h"

namespace ember::nn {

// Tensor bytes are copied between memory and file as they are; the format is little-endian.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

using Json = nlohmann::json;

constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;  // the reference implementation's limit
constexpr std::string_view kMetadataKey = "__metadata__";

// Valid safetensors dtypes that Ember has no tensor type for: files holding them are well-formed
// but cannot be loaded, which deserves a different message from a misspelt dtype.
constexpr std::array<std::string_view, 16> kUnsupportedDTypes = {
    "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2",
    "I16", "U16", "F16", "I32", "U32", "U64", "C64"};

std::string_view format_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int64: return "I64";
    case DType::BFloat16: return "BF16";
  }
  fail("save_safetensors: unknown dtype {}", static_cast<int>(dtype));
}

std::optional<DType> dtype_from_format_name(std::string_view name) {
  for (DType dtype : {kFloat32, kFloat64, kInt64, kBFloat16})
    if (format_dtype_name(dtype) == name) return dtype;
  return std::nullopt;
}

std::string errno_message() { return std::generic_category().message(errno); }

// Text from the file is cut short in error messages, so that a megabyte-long name or JSON token
// cannot flood the terminal.
constexpr std::size_t kShownChars = 200;

std::string clipped(std::string_view text) {
  return text.size() <= kShownChars ? std::string(text) : fmt::format("{}...", text.substr(0, kShownChars));
}

// A string from the file, quoted and escaped for an error message, and clipped.
std::string shown(std::string_view text) {
  std::string quoted = fmt::format("{:?}", text.substr(0, kShownChars));
  if (text.size() > kShownChars) quoted += "...";
  return quoted;
}

// Throws the error every problem with a file being loaded becomes: path first, then the problem.
template <typename... Args>
[[noreturn]] void bad_file(const std::string& path, fmt::format_string<Args...> format, Args&&... args) {
  fail("load_safetensors: {}: {}", path, fmt::format(format, std::forward<Args>(args)...));
}

// Offset of the first byte of `text` that is not well-formed UTF-8 (overlong forms, surrogates and
// code points past U+10FFFF are ill-formed too), or npos when there is none.
std::size_t first_invalid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    // The length of the sequence and the range its second byte must lie in (Unicode table 3-7).
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;   // overlong
      if (lead == 0xED) high = 0x9F;  // surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;   // overlong
      if (lead == 0xF4) high = 0x8F;  // past U+10FFFF
    } else {
      return i;
    }
    if (text.size() - i < length) return i;
    const auto second = static_cast<unsigned char>(text[i + 1]);
    if (second < low || second > high) return i;
    for (std::size_t k = 2; k < length; ++k)
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return i;
    i += length;
  }
  return std::string_view::npos;
}

// Parses the header, rejecting a key repeated within one object (nlohmann would keep the last).
Json parse_header_json(const std::string& text, const std::string& path) {
  std::vector<std::set<std::string>> open_objects;  // keys seen so far, innermost object last
  auto reject_duplicates = [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::object_start) {
      open_objects.emplace_back();
    } else if (event == Json::parse_event_t::object_end) {
      open_objects.pop_back();
    } else if (event == Json::parse_event_t::key) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(key).second) bad_file(path, "header has duplicate key {}", shown(key));
    }
    return true;
  };
  try {
    return Json::parse(text, reject_duplicates);
  } catch (const Json::exception& e) {
    bad_file(path, "header is not valid JSON: {}", clipped(e.what()));
  }
}

// One tensor's header entry, validated on its own; how entries fit together is checked later.
struct Entry {
  std::string name;
  DType dtype = kFloat32;
  Shape shape;
  std::uint64_t begin = 0, end = 0;  // byte range within the data section
};

// a * b, or an error when the element or byte count of tensor `name` overflows 64 bits.
std::uint64_t checked_multiply(std::uint64_t a, std::uint64_t b, const std::string& path,
                               const std::string& name, const Json& shape) {
  std::uint64_t product = 0;
  if (__builtin_mul_overflow(a, b, &product))
    bad_file(path, "tensor {}: shape {} overflows when counting its elements or bytes", shown(name),
             shape.dump());
  return product;
}

Entry parse_entry(const std::string& path, const std::string& name, const Json& info) {
  if (!info.is_object())
    bad_file(path, "tensor {}: entry is a JSON {}, not an object", shown(name), info.type_name());
  for (const auto& [key, value] : info.items())
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      bad_file(path, "tensor {}: unexpected field {}", shown(name), shown(key));
  for (const char* field : {"dtype", "shape", "data_offsets"})
    if (!info.contains(field)) bad_file(path, "tensor {}: missing field \"{}\"", shown(name), field);

  Entry entry;
  entry.name = name;
  const Json& dtype = info["dtype"];
  if (!dtype.is_string())
    bad_file(path, "tensor {}: dtype is a JSON {}, not a string", shown(name), dtype.type_name());
  const auto& dtype_name = dtype.get_ref<const std::string&>();
  if (auto known = dtype_from_format_name(dtype_name)) {
    entry.dtype = *known;
  } else if (std::ranges::find(kUnsupportedDTypes, dtype_name) != kUnsupportedDTypes.end()) {
    bad_file(path, "tensor {}: unsupported dtype {} (Ember reads F32, F64, I64 and BF16)", shown(name), dtype_name);
  } else {
    bad_file(path, "tensor {}: unknown dtype {}", shown(name), shown(dtype_name));
  }

  const Json& shape = info["shape"];
  if (!shape.is_array())
    bad_file(path, "tensor {}: shape is a JSON {}, not an array", shown(name), shape.type_name());
  // Counted in uint64, as the file states them. Once the byte count matches the offsets and the
  // offsets fit in the file, the element count is small; single dims are not when another is 0,
  // hence the check that they fit in a Shape entry and that the strides over them (the product
  // of the dims, zeros counted as 1) fit in int64.
  std::uint64_t numel = 1;
  std::int64_t stride_span = 1;
  for (const Json& size : shape) {
    if (!size.is_number_unsigned())
      bad_file(path, "tensor {}: shape {} has entry {}, not a non-negative integer", shown(name), shape.dump(),
               size.dump());
    const auto value = size.get<std::uint64_t>();
    if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      bad_file(path, "tensor {}: shape {} has entry {}, too large for a tensor dimension", shown(name),
               shape.dump(), value);
    numel = checked_multiply(numel, value, path, name, shape);
    if (__builtin_mul_overflow(stride_span, std::max<std::int64_t>(static_cast<std::int64_t>(value), 1), &stride_span))
      bad_file(path, "tensor {}: shape {} is too large for a tensor (its strides overflow int64)", shown(name),
               shape.dump());
    entry.shape.push_back(static_cast<std::int64_t>(value));
  }
  const std::uint64_t nbytes = checked_multiply(numel, element_size(entry.dtype), path, name, shape);

  const Json& offsets = info["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned())
    bad_file(path, "tensor {}: data_offsets {} is not two non-negative integers [begin, end]", shown(name),
             offsets.dump());
  entry.begin = offsets[0].get<std::uint64_t>();
  entry.end = offsets[1].get<std::uint64_t>();
  if (entry.begin > entry.end)
    bad_file(path, "tensor {}: data_offsets [{}, {}] begin after their end", shown(name), entry.begin, entry.end);
  if (entry.end - entry.begin != nbytes)
    bad_file(path, "tensor {}: data_offsets [{}, {}] hold {} bytes but shape {} of {} needs {} bytes", shown(name),
             entry.begin, entry.end, entry.end - entry.begin, shape.dump(), dtype_name, nbytes);
  return entry;
}

Metadata parse_metadata(const std::string& path, const Json& json) {
  if (!json.is_object()) bad_file(path, "__metadata__ is a JSON {}, not an object", json.type_name());
  Metadata metadata;
  for (const auto& [key, value] : json.items()) {
    if (!value.is_string())
      bad_file(path, "__metadata__ value of {} is a JSON {}, not a string", shown(key), value.type_name());
    metadata.emplace(key, value.get<std::string>());
  }
  return metadata;
}

// Sorts entries by offset and checks that they tile the data section exactly: starting at 0, no
// overlap, no gap, ending at the end of the file.
void check_layout(const std::string& path, std::vector<Entry>& entries, std::uint64_t data_bytes) {
  std::ranges::sort(entries, {}, [](const Entry& e) { return std::pair(e.begin, e.end); });
  std::uint64_t covered = 0;  // bytes [0, covered) belong to the tensors checked so far
  for (const Entry& e : entries) {
    if (e.begin < covered)
      bad_file(path, "tensor {} at bytes [{}, {}) overlaps the data of the tensor before it, which ends at {}",
               shown(e.name), e.begin, e.end, covered);
    if (e.begin > covered && covered == 0)
      bad_file(path, "tensor data does not start at offset 0: tensor {} starts at {}", shown(e.name), e.begin);
    if (e.begin > covered)
      bad_file(path, "gap of {} bytes before tensor {}: its data starts at {} but the tensor before it ends at {}",
               e.begin - covered, shown(e.name), e.begin, covered);
    covered = e.end;
  }
  if (covered > data_bytes)
    bad_file(path, "tensor data runs past the end of the file: offsets reach {} but the file holds {} data bytes",
             covered, data_bytes);
  if (covered < data_bytes)
    bad_file(path, "{} trailing bytes after the last tensor (offsets reach {}, the file holds {} data bytes)",
             data_bytes - covered, covered, data_bytes);
}

void read_exactly(std::ifstream& in, void* into, std::uint64_t bytes, const std::string& path) {
  if (bytes == 0) return;
  in.read(static_cast<char*>(into), static_cast<std::streamsize>(bytes));
  if (!in || static_cast<std::uint64_t>(in.gcount()) != bytes)
    bad_file(path, "read failed after {} of {} bytes: {}", in.gcount(), bytes, errno_message());
}

// Flushes a written file to disk, so that renaming it over the old one cannot, after a crash,
// leave a name pointing at data that never reached the disk.
void sync_to_disk(const std::string& file, const std::string& target) {
  const int fd = ::open(file.c_str(), O_RDONLY);
  EMBER_CHECK(fd >= 0, "cannot write {}: cannot reopen {} to flush it: {}", target, file, errno_message());
  const bool synced = ::fsync(fd) == 0;
  const std::string reason = synced ? "" : errno_message();
  ::close(fd);
  EMBER_CHECK(synced, "cannot write {}: flushing {} to disk failed: {}", target, file, reason);
}

}  // namespace

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write) {
  // A temporary name of this process and call alone: two writers of one path (two threads, two
  // processes) never write into each other's temporary file; the last rename wins whole.
  static std::atomic<std::uint64_t> writes{0};
  const std::string temp = fmt::format("{}.tmp.{}.{}", path, ::getpid(), writes++);
  try {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    EMBER_CHECK(out.is_open(), "cannot write {}: cannot create {}: {}", path, temp, errno_message());
    write(out);
    out.close();  // flushes; a full disk shows up here at the latest
    EMBER_CHECK(!out.fail(), "cannot write {}: writing {} failed: {}", path, temp, errno_message());
    sync_to_disk(temp, path);
    std::error_code error;
    std::filesystem::rename(temp, path, error);
    EMBER_CHECK(!error, "cannot write {}: renaming {} over it failed: {}", path, temp, error.message());
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    throw;
  }
  // Make the rename itself durable. Best effort: some filesystems cannot sync a directory, and the
  // new file is complete either way.
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const int dir = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  write_file_atomically(path, [&](std::ostream& out) {
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  });
}

void save_safetensors(const StateDict& tensors, const std::string& path, const Metadata& metadata) {
  // Host copies come first, so that a failing device copy never touches the file. Tensors already
  // contiguous on the CPU are not copied.
  std::vector<Tensor> host;
  host.reserve(tensors.size());
  nlohmann::ordered_json header = nlohmann::ordered_json::object();  // written in insertion order
  if (!metadata.empty()) header[std::string(kMetadataKey)] = metadata;
  // Data goes in order of decreasing element size, then name (as the reference writer does), so
  // every tensor starts at a multiple of its element size and can be used in place when mapped.
  std::vector<std::pair<std::string, Tensor>> ordered(tensors.begin(), tensors.end());
  std::ranges::stable_sort(ordered, std::greater{}, [](const auto& entry) {
    return entry.second.defined() ? element_size(entry.second.dtype()) : std::size_t{0};
  });
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : ordered) {
    EMBER_CHECK(name != kMetadataKey, "save_safetensors: {}: the tensor name \"__metadata__\" is reserved", path);
    EMBER_CHECK(tensor.defined(), "save_safetensors: {}: tensor {} is undefined", path, shown(name));
    host.push_back(tensor.detach().to(kCPU).contiguous());
    const Tensor& h = host.back();
    const auto nbytes = static_cast<std::uint64_t>(h.numel()) * element_size(h.dtype());
    header[name] = {{"dtype", std::string(format_dtype_name(h.dtype()))},
                    {"shape", h.shape()},
                    {"data_offsets", nlohmann::ordered_json::array({offset, offset + nbytes})}};
    offset += nbytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::ordered_json::exception& e) {
    fail("save_safetensors: {}: tensor names and metadata must be valid UTF-8: {}", path, e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned in the file

  write_file_atomically(path, [&](std::ostream& out) {
    std::array<char, 8> length{};
    for (std::size_t i = 0; i < length.size(); ++i)
      length[i] = static_cast<char>((static_cast<std::uint64_t>(text.size()) >> (8 * i)) & 0xFF);
    out.write(length.data(), length.size());
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const Tensor& h : host)
      out.write(static_cast<const char*>(h.raw_data()),
                static_cast<std::streamsize>(static_cast<std::size_t>(h.numel()) * element_size(h.dtype())));
  });
}

namespace {

// Reads the next `bytes` bytes of the input into `into`, or throws naming the input.
using ReadFn = std::function<void(void* into, std::uint64_t bytes)>;

// The loader proper, for an input of `total_bytes` bytes read front to back through `read`, so
// that files are never held in memory twice. `name` (a path, or a stand-in for a buffer) starts
// every error message.
StateDict parse_safetensors(const std::string& name, std::uint64_t total_bytes, const ReadFn& read,
                            Metadata* metadata) {
  if (total_bytes < 8) bad_file(name, "file is {} bytes, shorter than the 8-byte header length", total_bytes);
  std::array<unsigned char, 8> length_bytes{};
  read(length_bytes.data(), length_bytes.size());
  std::uint64_t header_bytes = 0;
  for (std::size_t i = 0; i < length_bytes.size(); ++i) header_bytes |= std::uint64_t{length_bytes[i]} << (8 * i);
  if (header_bytes > kMaxHeaderBytes)
    bad_file(name, "header length {} exceeds the limit of {} bytes", header_bytes, kMaxHeaderBytes);
  if (header_bytes > total_bytes - 8)
    bad_file(name, "header length {} runs past the end of the file ({} bytes)", header_bytes, total_bytes);

  std::string text(header_bytes, '\0');
  read(text.data(), header_bytes);
  if (auto bad = first_invalid_utf8(text); bad != std::string_view::npos)
    bad_file(name, "header is not valid UTF-8 (byte {} of the header)", bad);
  const Json header = parse_header_json(text, name);
  if (!header.is_object()) bad_file(name, "header is a JSON {}, not an object", header.type_name());

  std::vector<Entry> entries;
  Metadata found_metadata;
  for (const auto& [key, value] : header.items()) {
    if (key == kMetadataKey)
      found_metadata = parse_metadata(name, value);
    else
      entries.push_back(parse_entry(name, key, value));
  }
  check_layout(name, entries, total_bytes - 8 - header_bytes);

  // Every size is now known to fit in the input, so allocating from it is safe. Entries are sorted
  // and contiguous: the data is one sequential read.
  StateDict tensors;
  for (const Entry& e : entries) {
    Tensor t = empty(e.shape, e.dtype);
    read(t.raw_data(), e.end - e.begin);
    tensors.emplace(e.name, std::move(t));
  }
  if (metadata != nullptr) *metadata = std::move(found_metadata);
  return tensors;
}

}  // namespace

StateDict load_safetensors(const std::string& path, Metadata* metadata) {
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) bad_file(path, "cannot open: {}", errno_message());
  in.seekg(0, std::ios::end);
  const std::streamoff end = in.tellg();
  if (!in || end < 0) bad_file(path, "cannot determine the file size: {}", errno_message());
  in.seekg(0);
  return parse_safetensors(path, static_cast<std::uint64_t>(end),
                           [&](void* into, std::uint64_t bytes) { read_exactly(in, into, bytes, path); },
                           metadata);
}

StateDict load_safetensors_from_memory(std::string_view bytes, Metadata* metadata, const std::string& name) {
  std::uint64_t position = 0;
  return parse_safetensors(name, bytes.size(), [&](void* into, std::uint64_t count) {
    // The parser never reads past the sizes it validated; this guards the invariant anyway.
    if (count > bytes.size() - position)
      bad_file(name, "read of {} bytes at offset {} runs past the end ({} bytes)", count, position, bytes.size());
    if (count > 0) std::memcpy(into, bytes.data() + position, count);
    position += count;
  }, metadata);
}

void save(const Module& module, const std::string& path, const Metadata& metadata) {
  save_safetensors(module.state_dict(), path, metadata);
}

void load(Module& module, const std::string& path, bool strict) {
  StateDict state = load_safetensors(path);
  try {
    module.load_state_dict(state, strict);
  } catch (const Error& e) {
    fail("load: {}: {}", path, e.what());
  }
}

}  // namespace ember::nn
