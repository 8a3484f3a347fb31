// Every hyper-parameter of a resolved configuration beside the value in the source it replicates,
// with the file and line (or section) where the source sets it, and the reason for any departure.
//
// Sources: the paper protocol replicates the authors' experiment code (idiap/linear-transformer-
// experiments, causal-copy/, and the fast-transformers defaults it inherits); the seed protocol
// replicates the seed study's text (jbergner1/DM2022-LinearTransformers, Article/bericht.tex) and
// `--variant notebook` what the study's notebook (LinTrans.jl) actually ran.
// `copy_task --print-config` prints this table; README.md holds the full-scale tables verbatim,
// and tests/copy_task/config_table.sh checks that they agree.
#pragma once

#include <string>
#include <vector>

#include "config.h"

namespace copy_task {

struct HyperparameterRow {
  std::string setting;
  std::string ember;   // this configuration's value
  std::string source;  // the source's value
  std::string where;   // file:line or section of the source
  std::string note;    // a departure and its reason, or what Ember adds; empty when identical
};

std::vector<HyperparameterRow> hyperparameter_rows(const Config& config);

// The rows as a markdown table, one row per line, cells with '|' escaped.
std::string hyperparameter_table(const Config& config);

}  // namespace copy_task
