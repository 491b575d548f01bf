#!/bin/bash
# Builds the libFuzzer targets for the Dovecot-compatible files of a
# mailbox (dovecot-keywords, dovecot-uidlist, dovecot-acl, maildirsize) with
# clang (outside Bazel) and runs each for SECONDS on a copy of its seed
# corpus. Exits non-zero on a crash or a build failure.
#   usage: storage/mailbox/fuzz/build_and_run.sh OUT_DIR SECONDS
# Needs the Debian packages clang and libclang-rt-14-dev.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../../..
# shellcheck source=tools/lib/fuzz.sh
. "$HERE/../../../tools/lib/fuzz.sh"
fuzz_init "$@"
MAILBOX=$FUZZ_ROOT/storage/mailbox
ERRORS=$FUZZ_ROOT/storage/maildir/errors.cc
LIBS=(absl_strings absl_str_format absl_status absl_statusor absl_time)

fuzz_build keywords_fuzzer "$HERE/keywords_fuzzer.cc" "$MAILBOX/keywords.cc" \
  "$MAILBOX/dotlock.cc" "$ERRORS" -- "${LIBS[@]}"
fuzz_build uidlist_fuzzer "$HERE/uidlist_fuzzer.cc" "$MAILBOX/uidlist.cc" \
  "$ERRORS" -- "${LIBS[@]}"
fuzz_build acl_fuzzer "$HERE/acl_fuzzer.cc" "$MAILBOX/acl.cc" \
  "$MAILBOX/dotlock.cc" "$ERRORS" -- "${LIBS[@]}"
fuzz_build maildirsize_fuzzer "$HERE/maildirsize_fuzzer.cc" \
  "$MAILBOX/maildirsize.cc" "$ERRORS" -- "${LIBS[@]}"

# The readers cap the files at 64 KiB (keywords, ACL) and 5120 bytes
# (maildirsize); uidlist lines at 8 KiB (the fuzzer also picks small limits).
fuzz_run --max-len 65536 keywords_fuzzer "$HERE/corpus_keywords"
fuzz_run --max-len 32768 uidlist_fuzzer "$HERE/corpus_uidlist"
fuzz_run --max-len 65536 acl_fuzzer "$HERE/corpus_acl"
fuzz_run --max-len 5122 maildirsize_fuzzer "$HERE/corpus_maildirsize"
fuzz_finish
