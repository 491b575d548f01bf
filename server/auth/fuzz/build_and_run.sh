#!/bin/bash
# Builds the passwd-file libFuzzer target with clang (outside Bazel) and runs
# it for SECONDS on a copy of its seed corpus. Exits non-zero on a crash or a
# build failure.
#   usage: server/auth/fuzz/build_and_run.sh OUT_DIR SECONDS
# Needs the Debian packages clang, libclang-rt-14-dev, libcrypt-dev and
# libargon2-dev.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 OUT_DIR SECONDS" >&2
  exit 2
fi
OUT_DIR=$1
SECONDS_PER_TARGET=$2
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
AUTH=$ROOT/server/auth
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)

CXX=${CXX:-clang++}
# shellcheck disable=SC2054  # the commas belong to -fsanitize=
CXXFLAGS=(-std=c++20 -O1 -g -fno-omit-frame-pointer
          -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
          -I"$ROOT")
# shellcheck disable=SC2207
LIBS=($(pkg-config --libs absl_strings absl_str_format absl_status \
          absl_statusor absl_hash absl_raw_hash_set) -lcrypt -largon2)

build() {
  local name=$1; shift
  echo "== building $name"
  "$CXX" "${CXXFLAGS[@]}" -o "$OUT_DIR/$name" "$@" "${LIBS[@]}"
}

build passwd_file_fuzzer "$HERE/passwd_file_fuzzer.cc" "$AUTH/passwd_file.cc"

status=0
# shellcheck disable=SC2043  # one target today; same shape as the others
for name in passwd_file_fuzzer; do
  corpus_src=$HERE/corpus_${name%_fuzzer}
  corpus=$OUT_DIR/corpus_${name%_fuzzer}
  mkdir -p "$corpus"
  cp -n "$corpus_src"/* "$corpus"/ 2>/dev/null || true
  echo "== running $name for ${SECONDS_PER_TARGET}s"
  # Lines are capped at 8 KiB; 32 KiB inputs reach the long-line error.
  if ! (cd "$OUT_DIR" && "./$name" -max_total_time="$SECONDS_PER_TARGET" \
          -max_len=32768 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
          "$corpus"); then
    echo "!! $name found a crash (see $OUT_DIR/crash-*)" >&2
    status=1
  fi
done
exit $status
