// The feature maps phi of linear attention that linear_attention_step applies itself, written once
// for the CPU and CUDA kernels. elu(x) + 1 is computed as x + 1 above 0 and exp(x) below, the form
// nn::feature_maps::elu_plus_one uses (no cancellation of -1 and +1 near 1 for very negative x).
#pragma once

#include <cstdint>

#include "ops/formulas/host_device.h"

namespace ember {

enum class StepFeatureMap : std::uint8_t { Identity, EluPlusOne, Relu };

template <typename T>
EMBER_HOST_DEVICE inline T step_feature(StepFeatureMap phi, T x) {
  switch (phi) {
    case StepFeatureMap::EluPlusOne: return x > T(0) ? x + T(1) : math::exp(x);
    case StepFeatureMap::Relu: return x > T(0) ? x : T(0);
    default: return x;
  }
}

}  // namespace ember
