// FUZZ_CHECK(cond) for the libFuzzer targets (*/fuzz/*_fuzzer.cc, built by
// tools/lib/fuzz.sh): on failure it names the file, line and condition, then
// aborts, which libFuzzer reports as a crash and saves the input.
#ifndef RINGMAIL_TOOLS_LIB_FUZZ_CHECK_H_
#define RINGMAIL_TOOLS_LIB_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                    \
  do {                                                                      \
    if (!(cond)) {                                                          \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__,      \
                   __LINE__, #cond);                                        \
      std::abort();                                                         \
    }                                                                       \
  } while (0)

#endif  // RINGMAIL_TOOLS_LIB_FUZZ_CHECK_H_
