#!/bin/bash
# Builds the MIME libFuzzer target with clang (outside Bazel) and runs it for
# SECONDS on a copy of its seed corpus. Exits non-zero on a crash or a build
# failure.
#   usage: protocols/mime/fuzz/build_and_run.sh OUT_DIR SECONDS
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
MIME=$ROOT/protocols/mime
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)

CXX=${CXX:-clang++}
CXXFLAGS=(-std=c++20 -O1 -g -fno-omit-frame-pointer
          -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
          -I"$ROOT")
# shellcheck disable=SC2207
ABSL_LIBS=($(pkg-config --libs absl_status absl_statusor absl_strings))

echo "== building mime_fuzzer"
"$CXX" "${CXXFLAGS[@]}" -o "$OUT_DIR/mime_fuzzer" "$HERE/mime_fuzzer.cc" \
  "$MIME"/{structure,structure_serialize,bodystructure,envelope,address}.cc \
  "$MIME"/{content_fields,rfc822_lexer,header,imap_string,section,decode}.cc \
  "${ABSL_LIBS[@]}"

corpus=$OUT_DIR/corpus_mime
mkdir -p "$corpus"
cp -n "$HERE"/corpus_mime/* "$corpus"/ 2>/dev/null || true
cp -n "$ROOT"/tests/data/mime/*.eml "$corpus"/ 2>/dev/null || true
echo "== running mime_fuzzer for ${SECONDS_PER_TARGET}s"
status=0
if ! (cd "$OUT_DIR" && ./mime_fuzzer -max_total_time="$SECONDS_PER_TARGET" \
        -max_len=16384 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        "$corpus"); then
  echo "!! mime_fuzzer found a crash (see $OUT_DIR/crash-*)" >&2
  status=1
fi
exit $status
