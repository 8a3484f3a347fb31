// Ember's distributed training, in one include: the environment (ranks, init), collectives on
// tensors and data-parallel training. Built when MPI is found (CMake option EMBER_DISTRIBUTED),
// as the library ember::distributed.
#pragma once

#include "distributed/collectives.h"
#include "distributed/data_parallel.h"
#include "distributed/environment.h"
#include "distributed/gradient_buckets.h"
