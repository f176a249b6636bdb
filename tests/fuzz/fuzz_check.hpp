#pragma once

// An invariant that does not hold is a finding: print it and abort, so that
// libFuzzer saves the input as a crash.

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                                               \
  do {                                                                                                                 \
    if (!(cond)) {                                                                                                     \
      std::fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);                               \
      std::abort();                                                                                                    \
    }                                                                                                                  \
  } while (0)
