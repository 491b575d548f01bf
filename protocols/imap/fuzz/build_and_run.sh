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

MIME=$FUZZ_ROOT/protocols/mime
COMMON=("$FUZZ_ROOT/common/mutf7.cc" "$FUZZ_ROOT/common/utf8.cc")
# SORT and THREAD, with the MIME header helpers they use.
SORT_THREAD_SRCS=("$IMAP/esearch.cc" "$IMAP/base_subject.cc" "$IMAP/sort.cc"
  "$IMAP/thread.cc" "$IMAP/thread_references.cc" "$MIME/address.cc"
  "$MIME/date_time.cc" "$MIME/decode.cc" "$MIME/encoded_word.cc"
  "$MIME/header.cc" "$MIME/imap_string.cc" "$MIME/message_id.cc"
  "$MIME/rfc822_lexer.cc")

fuzz_build command_fuzzer "$HERE/command_fuzzer.cc" \
  "$IMAP/arg.cc" "$IMAP/command_reader.cc" "$IMAP/command_syntax.cc" \
  "$IMAP/command_table.cc" "$IMAP/args.cc" "$IMAP/fetch.cc" \
  "$IMAP/search.cc" "$IMAP/sequence_set.cc" "$IMAP/mutf7.cc" \
  "$IMAP/condstore.cc" "${SORT_THREAD_SRCS[@]}" "${COMMON[@]}" \
  -- absl_strings absl_str_format absl_time

fuzz_run command_fuzzer "$HERE/corpus_command"

fuzz_build sort_thread_fuzzer "$HERE/sort_thread_fuzzer.cc" \
  "$IMAP/arg.cc" "$IMAP/args.cc" "$IMAP/search.cc" "$IMAP/sequence_set.cc" \
  "$IMAP/mutf7.cc" "${SORT_THREAD_SRCS[@]}" "${COMMON[@]}" \
  -- absl_strings absl_str_format absl_time

fuzz_run sort_thread_fuzzer "$HERE/corpus_sort_thread"
fuzz_finish
