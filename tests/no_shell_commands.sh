#!/usr/bin/env bash
# Fails when any C, C++ or CUDA source of the project calls system() or popen(): both run a composed
# command line through the shell, where a quote in a path becomes a command (use posix_spawn with
# an argument vector, as apps/copy_task/plots.cpp does).
#   no_shell_commands.sh SOURCE_DIR
set -euo pipefail
cd "$1"
hits="$(grep -rnE '(^|[^A-Za-z0-9_.>])(std::)?(system|popen)[[:space:]]*\(' \
          --include='*.c' --include='*.cc' --include='*.cpp' --include='*.h' --include='*.hpp' \
          --include='*.cu' --include='*.cuh' \
          core autograd ops nn cuda apps bench tests ember 2> /dev/null || true)"
if [ -n "$hits" ]; then
  echo "system()/popen() calls found:"
  echo "$hits"
  exit 1
fi
echo "no system() or popen() calls in $(find core autograd ops nn cuda apps bench tests ember -name '*.cpp' -o -name '*.h' -o -name '*.cu' | wc -l) source files"
