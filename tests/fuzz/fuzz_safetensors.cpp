// libFuzzer target: nn::load_safetensors_from_memory on arbitrary bytes. Every input must either
// load or throw ember::Error: a crash, a sanitizer report, a leak, a hang or any other exception
// is a bug. What loads is then checked against the input it came from.
#include <cstdint>
#include <cstring>

#include <ember/ember.h>

using namespace ember;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  nn::Metadata metadata;
  nn::StateDict tensors;
  try {
    tensors = nn::load_safetensors_from_memory(bytes, &metadata, "fuzz input");
  } catch (const Error&) {
    return 0;
  }
  // The data section is the input's tail, and the tensors tile it exactly: their bytes add up to
  // it, and every tensor's bytes are somewhere in it.
  std::uint64_t header = 0;
  std::memcpy(&header, data, 8);
  std::size_t total = 0;
  for (const auto& [name, t] : tensors) {
    const std::size_t nbytes = static_cast<std::size_t>(t.numel()) * element_size(t.dtype());
    total += nbytes;
    if (nbytes > 0 && bytes.substr(8 + header).find(std::string_view(static_cast<const char*>(t.raw_data()), nbytes)) ==
                          std::string_view::npos)
      __builtin_trap();
  }
  if (total != size - 8 - header) __builtin_trap();
  return 0;
}
