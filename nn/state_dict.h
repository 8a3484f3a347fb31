// StateDict: a model's (or optimizer's) named tensors, ordered by name. Dotted names follow the
// module tree, e.g. "decoder.layers.0.attn.q.weight".
#pragma once

#include <map>
#include <string>

#include "core/tensor.h"

namespace ember::nn {

using StateDict = std::map<std::string, Tensor>;

}  // namespace ember::nn
