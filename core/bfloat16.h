// bfloat16: the 16-bit float of mixed-precision training (8 exponent bits like float32, 7 mantissa
// bits), as a plain struct usable from host code and CUDA kernels alike.
//
// Its bit layout is that of CUDA's __nv_bfloat16, so a bfloat16 buffer can be handed to cuBLAS and
// cuDNN as CUDA_R_16BF / CUDNN_DATA_BFLOAT16. Conversion from float rounds to nearest, ties to
// even (as __float2bfloat16_rn does); NaN stays NaN; infinities and overflow to infinity behave as
// in IEEE arithmetic. Arithmetic is not defined on purpose: kernels convert to float, compute, and
// convert back, which is what the hardware does too.
#pragma once

#include <bit>
#include <cstdint>

#if defined(__CUDACC__)
#define EMBER_HOST_DEVICE __host__ __device__
#else
#define EMBER_HOST_DEVICE
#endif

namespace ember {

struct bfloat16 {
  std::uint16_t bits = 0;

  constexpr bfloat16() = default;
  EMBER_HOST_DEVICE constexpr explicit bfloat16(float value) : bits(round_to_bits(value)) {}
  EMBER_HOST_DEVICE constexpr explicit bfloat16(double value) : bfloat16(static_cast<float>(value)) {}
  EMBER_HOST_DEVICE constexpr explicit bfloat16(std::int64_t value) : bfloat16(static_cast<float>(value)) {}

  EMBER_HOST_DEVICE constexpr operator float() const {
    return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
  }
  EMBER_HOST_DEVICE constexpr explicit operator double() const { return static_cast<float>(*this); }
  EMBER_HOST_DEVICE constexpr explicit operator std::int64_t() const {
    return static_cast<std::int64_t>(static_cast<float>(*this));
  }

  EMBER_HOST_DEVICE static constexpr bfloat16 from_bits(std::uint16_t raw) {
    bfloat16 b;
    b.bits = raw;
    return b;
  }

 private:
  EMBER_HOST_DEVICE static constexpr std::uint16_t round_to_bits(float value) {
    const auto word = std::bit_cast<std::uint32_t>(value);
    if ((word & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((word >> 16) | 0x0040u);  // quiet NaN
    // Add half an ulp of the result, plus one more when the kept part is odd (ties to even).
    const std::uint32_t rounding = 0x7fffu + ((word >> 16) & 1u);
    return static_cast<std::uint16_t>((word + rounding) >> 16);
  }
};

static_assert(sizeof(bfloat16) == 2);

}  // namespace ember
