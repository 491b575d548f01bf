# shellcheck shell=bash
# Shared driver for the libFuzzer smoke scripts
# ({protocols,server,storage,engine,common}/**/fuzz/build_and_run.sh; tools/test
# runs every one it finds there). Source it; do not run it. A package script
# lists its fuzzers, their sources and corpora:
#
#   HERE=$(cd "$(dirname "$0")" && pwd)
#   . "$HERE/../../../tools/lib/fuzz.sh"
#   fuzz_init "$@"                          # OUT_DIR SECONDS (usage error: exit 2)
#   fuzz_build foo_fuzzer "$HERE/foo_fuzzer.cc" a.cc -- absl_strings -lcrypt
#   fuzz_run foo_fuzzer "$HERE/corpus_foo"
#   fuzz_finish                             # exit 1 if any fuzzer crashed, else 0
#
# tools/test parses the output, so these lines are a contract:
#   "== running NAME for Ns"   one per fuzzer run (stdout)
#   "!! NAME found a crash ..." one per crashing fuzzer (stderr)
# A missing compiler exits 127, a missing libFuzzer runtime or a failed build
# exits non-zero at once (set -e), before any fuzzer runs.
#
# Sets FUZZ_ROOT (repository root), FUZZ_OUT (absolute OUT_DIR) and
# FUZZ_SECONDS. Honours CXX (default clang++).

set -euo pipefail

FUZZ_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FUZZ_CXX=${CXX:-clang++}
# shellcheck disable=SC2054  # the commas belong to -fsanitize=
FUZZ_CXXFLAGS=(-std=c++20 -O1 -g -fno-omit-frame-pointer
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
               -I"$FUZZ_ROOT")
# Flags every fuzzer runs with; fuzz_run's --max-len overrides -max_len.
FUZZ_DEFAULT_MAX_LEN=8192
FUZZ_RUN_FLAGS=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
_fuzz_status=0

# fuzz_init OUT_DIR SECONDS
# Checks the arguments (usage to stderr, exit 2), that the compiler and the
# libFuzzer runtime are installed, and creates OUT_DIR.
fuzz_init() {
  if [[ $# -ne 2 ]]; then
    echo "usage: $0 OUT_DIR SECONDS" >&2
    exit 2
  fi
  if ! command -v "$FUZZ_CXX" >/dev/null 2>&1; then
    echo "$0: $FUZZ_CXX not found (needs the Debian package clang)" >&2
    exit 127
  fi
  # Without libclang-rt the link fails with an obscure "cannot find" error.
  local rtdir
  rtdir=$("$FUZZ_CXX" --print-runtime-dir 2>/dev/null) || rtdir=
  if ! compgen -G "$rtdir/libclang_rt.fuzzer*.a" >/dev/null; then
    echo "$0: no libclang_rt.fuzzer in '$rtdir' ($FUZZ_CXX --print-runtime-dir;" \
         "needs clang and libclang-rt-14-dev)" >&2
    exit 1
  fi
  mkdir -p "$1"
  FUZZ_OUT=$(cd "$1" && pwd)
  FUZZ_SECONDS=$2
}

# fuzz_build NAME SOURCE... [-- LIB...]
# Compiles and links FUZZ_OUT/NAME. A LIB starting with '-' goes to the
# linker as is (-lcrypt); any other is a pkg-config module (absl_strings).
# A compile or link error exits the script with the compiler's status.
fuzz_build() {
  local name=$1; shift
  local -a srcs=() mods=() libs=()
  while [[ $# -gt 0 && $1 != -- ]]; do srcs+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift  # the --
  local lib
  for lib in "$@"; do
    if [[ $lib == -* ]]; then libs+=("$lib"); else mods+=("$lib"); fi
  done
  if [[ ${#mods[@]} -gt 0 ]]; then
    local pc
    pc=$(pkg-config --libs "${mods[@]}")
    # shellcheck disable=SC2206  # pkg-config output is a word list
    libs=($pc "${libs[@]}")
  fi
  echo "== building $name"
  "$FUZZ_CXX" "${FUZZ_CXXFLAGS[@]}" -o "$FUZZ_OUT/$name" "${srcs[@]}" \
    ${libs[@]+"${libs[@]}"}
}

# fuzz_run [--max-len N] NAME SEED_DIR [SEED_FILE...]
# Runs FUZZ_OUT/NAME for FUZZ_SECONDS on FUZZ_OUT/$(basename SEED_DIR), a
# working corpus seeded (without overwriting earlier finds) from SEED_DIR/*
# and the SEED_FILEs; missing seeds are ignored. A crash prints the "!!" line
# and is remembered for fuzz_finish; the next fuzzer still runs.
fuzz_run() {
  local max_len=$FUZZ_DEFAULT_MAX_LEN
  if [[ ${1:-} == --max-len ]]; then max_len=$2; shift 2; fi
  local name=$1 seed_dir=$2; shift 2
  local corpus
  corpus=$FUZZ_OUT/$(basename "$seed_dir")
  mkdir -p "$corpus"
  cp -n "$seed_dir"/* "$corpus"/ 2>/dev/null || true
  if [[ $# -gt 0 ]]; then cp -n "$@" "$corpus"/ 2>/dev/null || true; fi
  echo "== running $name for ${FUZZ_SECONDS}s"
  if ! (cd "$FUZZ_OUT" && "./$name" -max_total_time="$FUZZ_SECONDS" \
          -max_len="$max_len" "${FUZZ_RUN_FLAGS[@]}" "$corpus"); then
    echo "!! $name found a crash (see $FUZZ_OUT/crash-*)" >&2
    _fuzz_status=1
  fi
}

# fuzz_finish: exits 1 if any fuzz_run found a crash, else 0.
fuzz_finish() {
  exit "$_fuzz_status"
}
