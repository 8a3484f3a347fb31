// Which compute backends this build of Ember has, and whether a GPU is usable right now.
#pragma once

#include <string>

namespace ember {

bool cuda_built();         // compiled with the CUDA backend
bool cuda_is_available();  // built with CUDA and at least one device visible
std::string backend_info();  // one line for logs and reports, e.g. "cpu (2 threads), cuda: no device"

}  // namespace ember
