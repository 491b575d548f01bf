#!/bin/bash
# Builds the IMAP libFuzzer target with clang (outside Bazel) and runs it for
# SECONDS on a copy of its seed corpus. Exits non-zero on a crash or a build
# failure.
#   usage: protocols/imap/fuzz/build_and_run.sh OUT_DIR SECONDS
# Needs the Debian packages clang and libclang-rt-14-dev.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../../..
# shellcheck source=tools/lib/fuzz.sh
. "$HERE/../../../tools/lib/fuzz.sh"
fuzz_init "$@"
IMAP=$FUZZ_ROOT/protocols/imap

fuzz_build command_fuzzer "$HERE/command_fuzzer.cc" \
  "$IMAP/arg.cc" "$IMAP/command_reader.cc" "$IMAP/command_syntax.cc" \
  "$IMAP/command_table.cc" "$IMAP/args.cc" "$IMAP/fetch.cc" \
  "$IMAP/search.cc" "$IMAP/sequence_set.cc" "$IMAP/mutf7.cc" \
  -- absl_strings absl_str_format absl_time

fuzz_run command_fuzzer "$HERE/corpus_command"
fuzz_finish
