#!/bin/bash
# Builds the passwd-file libFuzzer target with clang (outside Bazel) and runs
# it for SECONDS on a copy of its seed corpus. Exits non-zero on a crash or a
# build failure.
#   usage: server/auth/fuzz/build_and_run.sh OUT_DIR SECONDS
# Needs the Debian packages clang, libclang-rt-14-dev, libcrypt-dev and
# libargon2-dev.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../../..
# shellcheck source=tools/lib/fuzz.sh
. "$HERE/../../../tools/lib/fuzz.sh"
fuzz_init "$@"
AUTH=$FUZZ_ROOT/server/auth

fuzz_build passwd_file_fuzzer "$HERE/passwd_file_fuzzer.cc" \
  "$AUTH/passwd_file.cc" -- absl_strings absl_str_format absl_status \
  absl_statusor absl_hash absl_raw_hash_set -lcrypt -largon2

# Lines are capped at 8 KiB; 32 KiB inputs reach the long-line error.
fuzz_run --max-len 32768 passwd_file_fuzzer "$HERE/corpus_passwd_file"
fuzz_finish
