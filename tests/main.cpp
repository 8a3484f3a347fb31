// doctest's main for the Ember test binary. `ember_tests --ember-child NAME` runs one death-test
// body instead (tests/child_process.h).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <string_view>

#include "child_process.h"
#include "ops/runtime_defaults.h"

int main(int argc, char** argv) {
  ember::apply_runtime_defaults(argv);  // as Ember's programs run: may re-execute once
  if (argc == 3 && std::string_view(argv[1]) == "--ember-child") return ember::testing::run_child_body(argv[2]);
  doctest::Context context(argc, argv);
  return context.run();
}
