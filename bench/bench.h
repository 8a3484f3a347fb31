// The subcommands of ember_bench, one file each; see main.cpp.
#pragma once

#include <CLI/CLI.hpp>

namespace ember::bench {

void add_attention_command(CLI::App& app);  // attention forward+backward, both kinds
void add_gemm_command(CLI::App& app);       // SGEMM at the models' shapes: the machine's ceiling
void add_train_command(CLI::App& app);      // one copy-task training step of a whole model
void add_generate_command(CLI::App& app);   // per-token generation time at a given position

}  // namespace ember::bench
