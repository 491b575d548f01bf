#!/bin/bash
# Builds the libFuzzer target of common/ with clang (outside Bazel) and runs
# it for SECONDS on a copy of its seed corpus. Exits non-zero on a crash or
# a build failure.
#   usage: common/fuzz/build_and_run.sh OUT_DIR SECONDS
# Needs the Debian packages clang and libclang-rt-14-dev.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../..
# shellcheck source=tools/lib/fuzz.sh
. "$HERE/../../tools/lib/fuzz.sh"
fuzz_init "$@"
COMMON=$FUZZ_ROOT/common

fuzz_build mutf7_fuzzer "$HERE/mutf7_fuzzer.cc" "$COMMON/mutf7.cc" "$COMMON/utf8.cc"

# The codec refuses inputs over 16 KiB; 20 KiB reaches that.
fuzz_run --max-len 20480 mutf7_fuzzer "$HERE/corpus_mutf7"
fuzz_finish
