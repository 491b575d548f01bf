#!/bin/bash
# Builds the POP3 libFuzzer target with clang (outside Bazel) and runs it
# for SECONDS on a copy of its seed corpus. Exits non-zero on a crash or a
# build failure.
#   usage: protocols/pop3/fuzz/build_and_run.sh OUT_DIR SECONDS
# Needs the Debian packages clang and libclang-rt-14-dev.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 OUT_DIR SECONDS" >&2
  exit 2
fi
OUT_DIR=$1
SECONDS_PER_TARGET=$2
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
POP3=$ROOT/protocols/pop3
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)

CXX=${CXX:-clang++}
CXXFLAGS=(-std=c++20 -O1 -g -fno-omit-frame-pointer
          -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
          -I"$ROOT")

echo "== building pop3_fuzzer"
"$CXX" "${CXXFLAGS[@]}" -o "$OUT_DIR/pop3_fuzzer" "$HERE/pop3_fuzzer.cc" \
  "$POP3/args.cc" "$POP3/command_reader.cc" "$POP3/command_table.cc" \
  "$POP3/message_encoder.cc" "$POP3/response.cc" "$POP3/session.cc" \
  "$POP3/session_commands.cc" "$POP3/uidl.cc"

corpus=$OUT_DIR/corpus_session
mkdir -p "$corpus"
cp -n "$HERE"/corpus_session/* "$corpus"/ 2>/dev/null || true
echo "== running pop3_fuzzer for ${SECONDS_PER_TARGET}s"
if ! (cd "$OUT_DIR" && ./pop3_fuzzer -max_total_time="$SECONDS_PER_TARGET" \
        -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        "$corpus"); then
  echo "!! pop3_fuzzer found a crash (see $OUT_DIR/crash-*)" >&2
  exit 1
fi
