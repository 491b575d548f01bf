#!/bin/bash
# Builds the journal scanner's libFuzzer target with clang (outside Bazel)
# and runs it for SECONDS on a copy of its seed corpus. Exits non-zero on a
# crash or a build failure.
#   usage: storage/maildir/fuzz/build_and_run.sh OUT_DIR SECONDS
# Needs the Debian packages clang and libclang-rt-14-dev.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../../..
# shellcheck source=tools/lib/fuzz.sh
. "$HERE/../../../tools/lib/fuzz.sh"
fuzz_init "$@"
MAILDIR=$FUZZ_ROOT/storage/maildir

# The sources of //storage/maildir:journal (journal*.cc, whatever it is split
# into) and what they need.
SRCS=()
for f in "$MAILDIR"/journal*.cc; do
  [[ $f == *_test.cc ]] || SRCS+=("$f")
done
fuzz_build journal_scan_fuzzer "$HERE/journal_scan_fuzzer.cc" "${SRCS[@]}" \
  "$MAILDIR/errors.cc" "$FUZZ_ROOT/common/crc32c.cc" \
  "$FUZZ_ROOT/engine/blocking_fs.cc" -- \
  absl_strings absl_str_format absl_status absl_statusor absl_time absl_hash \
  absl_raw_hash_set -lpthread

fuzz_run --max-len 16384 journal_scan_fuzzer "$HERE/corpus_journal_scan"
fuzz_finish
