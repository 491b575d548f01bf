#!/bin/bash
# Builds the SMTP libFuzzer targets with clang (outside Bazel) and runs each
# for SECONDS on a copy of its seed corpus. Exits non-zero on a crash or a
# build failure.
#   usage: protocols/smtp/fuzz/build_and_run.sh OUT_DIR SECONDS
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
SMTP=$ROOT/protocols/smtp
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)

CXX=${CXX:-clang++}
CXXFLAGS=(-std=c++20 -O1 -g -fno-omit-frame-pointer
          -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
          -I"$ROOT")
# shellcheck disable=SC2207
ABSL_LIBS=($(pkg-config --libs absl_strings absl_str_format absl_time))

build() {
  local name=$1; shift
  echo "== building $name"
  "$CXX" "${CXXFLAGS[@]}" -o "$OUT_DIR/$name" "$@" "${ABSL_LIBS[@]}"
}

build data_scanner_fuzzer "$HERE/data_scanner_fuzzer.cc" \
  "$SMTP/data_scanner.cc"
build session_fuzzer "$HERE/session_fuzzer.cc" \
  "$SMTP/session.cc" "$SMTP/session_commands.cc" "$SMTP/session_auth.cc" \
  "$SMTP/address.cc" "$SMTP/command_parser.cc" "$SMTP/command_table.cc" \
  "$SMTP/received_header.cc" "$SMTP/data_scanner.cc" "$SMTP/sasl.cc" \
  "$SMTP/header_block.cc"
# The SASL decoders of all three protocols, checked against one reference.
build sasl_fuzzer "$HERE/sasl_fuzzer.cc" "$SMTP/sasl.cc" \
  "$ROOT/protocols/imap/args.cc" "$ROOT/protocols/imap/arg.cc" \
  "$ROOT/protocols/imap/mutf7.cc" "$ROOT/protocols/pop3/args.cc" \
  "$ROOT/protocols/pop3/command_table.cc"

status=0
for name in data_scanner_fuzzer session_fuzzer sasl_fuzzer; do
  corpus_src=$HERE/corpus_${name%_fuzzer}
  corpus=$OUT_DIR/corpus_${name%_fuzzer}
  mkdir -p "$corpus"
  cp -n "$corpus_src"/* "$corpus"/ 2>/dev/null || true
  echo "== running $name for ${SECONDS_PER_TARGET}s"
  if ! (cd "$OUT_DIR" && "./$name" -max_total_time="$SECONDS_PER_TARGET" \
          -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
          "$corpus"); then
    echo "!! $name found a crash (see $OUT_DIR/crash-*)" >&2
    status=1
  fi
done
exit $status
