// The copy task's multiple-choice settings as enums, each with the one table that names its values.
//
// Text exists only at the edges: the command line (flags::add_choice reads a name into the enum),
// run.json, the checkpoint's identity and what is printed. Everything in between compares enums.
// The names are the ones run.json has always held, so run folders written before stay resumable.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include <ember/ember.h>

namespace copy_task {

// paper: decoder-only CausalLM (Katharopoulos et al.); seed: encoder-decoder (Do & Bergner).
enum class Protocol { Paper, Seed };
// Seed protocol only. text: what the study's article says (the default); notebook: what its
// notebook LinTrans.jl ran, bugs included (notebook_model.h).
enum class Variant { Text, Notebook };
// small: learns the copy within minutes on 2 CPU cores; full: the study's sizes (config.h).
enum class Scale { Small, Full };
enum class OptimizerKind { RAdam, Adam };
// bf16: autocast, so that matmuls and attention read bfloat16 while the weights stay float32.
enum class Precision { Fp32, Bf16 };
// What --device asks for. Auto is resolved once, when the flags are read (CUDA when available);
// a run's configuration holds the ember::Device it resolved to.
enum class DeviceChoice { Cpu, Cuda, Auto };
// Linear attention's feature map (nn/feature_maps.h): elu(x)+1 (the paper's, the default), relu,
// FAVOR+ random features (Performer), or a learned Hedgehog-style map.
enum class FeatureMapChoice { Elu, Relu, Favor, Learned };

template <typename E>
struct Named {
  E value;
  std::string_view name;
};

// ChoiceNames<E>::table lists every value of E with its name.
template <typename E>
struct ChoiceNames;

template <>
struct ChoiceNames<Protocol> {
  static constexpr Named<Protocol> table[] = {{Protocol::Paper, "paper"}, {Protocol::Seed, "seed"}};
};
template <>
struct ChoiceNames<Variant> {
  static constexpr Named<Variant> table[] = {{Variant::Text, "text"}, {Variant::Notebook, "notebook"}};
};
template <>
struct ChoiceNames<Scale> {
  static constexpr Named<Scale> table[] = {{Scale::Small, "small"}, {Scale::Full, "full"}};
};
template <>
struct ChoiceNames<OptimizerKind> {
  static constexpr Named<OptimizerKind> table[] = {{OptimizerKind::RAdam, "radam"}, {OptimizerKind::Adam, "adam"}};
};
template <>
struct ChoiceNames<Precision> {
  static constexpr Named<Precision> table[] = {{Precision::Fp32, "fp32"}, {Precision::Bf16, "bf16"}};
};
template <>
struct ChoiceNames<DeviceChoice> {
  static constexpr Named<DeviceChoice> table[] = {
      {DeviceChoice::Cpu, "cpu"}, {DeviceChoice::Cuda, "cuda"}, {DeviceChoice::Auto, "auto"}};
};

template <>
struct ChoiceNames<FeatureMapChoice> {
  static constexpr Named<FeatureMapChoice> table[] = {{FeatureMapChoice::Elu, "elu"},
                                                      {FeatureMapChoice::Relu, "relu"},
                                                      {FeatureMapChoice::Favor, "favor"},
                                                      {FeatureMapChoice::Learned, "learned"}};
};

template <typename E>
concept Choice = std::is_enum_v<E> && requires { ChoiceNames<E>::table; };

template <Choice E>
std::string choice_name(E value) {
  for (const auto& [v, name] : ChoiceNames<E>::table)
    if (v == value) return std::string(name);
  return std::to_string(static_cast<int>(value));  // unreachable while every value has a row
}

// The value named exactly `text`, or nullopt.
template <Choice E>
std::optional<E> parse_choice(std::string_view text) {
  for (const auto& [v, name] : ChoiceNames<E>::table)
    if (name == text) return v;
  return std::nullopt;
}

// "fp32, bf16": the names, for help and error messages.
template <Choice E>
std::string choice_names() {
  std::string out;
  for (const auto& [v, name] : ChoiceNames<E>::table) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

// The device a run uses (Auto: CUDA when a device is available, else the CPU).
inline ember::Device resolve_device(DeviceChoice choice) {
  if (choice == DeviceChoice::Auto) choice = ember::cuda_is_available() ? DeviceChoice::Cuda : DeviceChoice::Cpu;
  return choice == DeviceChoice::Cuda ? ember::kCUDA : ember::kCPU;
}

// The word run.json and report.md use for a run's device: cpu or cuda.
inline std::string device_word(ember::Device device) {
  return choice_name(device.is_cuda() ? DeviceChoice::Cuda : DeviceChoice::Cpu);
}

}  // namespace copy_task
