#!/bin/bash
# Builds the POP3 libFuzzer target with clang (outside Bazel) and runs it
# for SECONDS on a copy of its seed corpus. Exits non-zero on a crash or a
# build failure.
#   usage: protocols/pop3/fuzz/build_and_run.sh OUT_DIR SECONDS
# Needs the Debian packages clang and libclang-rt-14-dev.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../../..
# shellcheck source=tools/lib/fuzz.sh
. "$HERE/../../../tools/lib/fuzz.sh"
fuzz_init "$@"
POP3=$FUZZ_ROOT/protocols/pop3

fuzz_build pop3_fuzzer "$HERE/pop3_fuzzer.cc" \
  "$POP3/args.cc" "$FUZZ_ROOT/common/line_reader.cc" "$POP3/command_table.cc" \
  "$POP3/message_encoder.cc" "$POP3/response.cc" "$POP3/session.cc" \
  "$POP3/session_commands.cc" "$POP3/uidl.cc"

fuzz_run pop3_fuzzer "$HERE/corpus_session"
fuzz_finish
