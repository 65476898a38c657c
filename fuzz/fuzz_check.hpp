// FUZZ_CHECK: an invariant a fuzz target asserts. It aborts with the failed condition in both the
// libFuzzer build (where the abort is the finding) and the replay build (where it fails ctest).
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (false)
