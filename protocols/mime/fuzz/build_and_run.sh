#!/bin/bash
# Builds the MIME libFuzzer target with clang (outside Bazel) and runs it for
# SECONDS on a copy of its seed corpus. Exits non-zero on a crash or a build
# failure.
#   usage: protocols/mime/fuzz/build_and_run.sh OUT_DIR SECONDS
# Needs the Debian packages clang and libclang-rt-14-dev.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../../..
# shellcheck source=tools/lib/fuzz.sh
. "$HERE/../../../tools/lib/fuzz.sh"
fuzz_init "$@"
MIME=$FUZZ_ROOT/protocols/mime

fuzz_build mime_fuzzer "$HERE/mime_fuzzer.cc" \
  "$MIME"/{structure,structure_serialize,bodystructure,envelope,address}.cc \
  "$MIME"/{content_fields,rfc822_lexer,header,imap_string,section,decode}.cc \
  -- absl_status absl_statusor absl_strings

# Whole messages are larger than protocol lines; the test messages seed too.
fuzz_run --max-len 16384 mime_fuzzer "$HERE/corpus_mime" \
  "$FUZZ_ROOT"/tests/data/mime/*.eml
fuzz_finish
