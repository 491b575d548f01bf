#!/bin/bash
# Builds the SMTP libFuzzer targets with clang (outside Bazel) and runs each
# for SECONDS on a copy of its seed corpus. Exits non-zero on a crash or a
# build failure.
#   usage: protocols/smtp/fuzz/build_and_run.sh OUT_DIR SECONDS
# Needs the Debian packages clang and libclang-rt-14-dev.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../../..
# shellcheck source=tools/lib/fuzz.sh
. "$HERE/../../../tools/lib/fuzz.sh"
fuzz_init "$@"
SMTP=$FUZZ_ROOT/protocols/smtp
LIBS=(absl_strings absl_str_format absl_time)

fuzz_build data_scanner_fuzzer "$HERE/data_scanner_fuzzer.cc" \
  "$SMTP/data_scanner.cc" -- "${LIBS[@]}"
fuzz_build session_fuzzer "$HERE/session_fuzzer.cc" \
  "$SMTP/session.cc" "$SMTP/session_commands.cc" "$SMTP/session_auth.cc" \
  "$SMTP/address.cc" "$SMTP/command_parser.cc" "$SMTP/command_table.cc" \
  "$SMTP/received_header.cc" "$SMTP/data_scanner.cc" "$SMTP/sasl.cc" \
  "$SMTP/header_block.cc" "$SMTP/xtext.cc" "$FUZZ_ROOT/common/utf8.cc" \
  "$FUZZ_ROOT/common/line_reader.cc" -- "${LIBS[@]}"
# The SASL decoders of all three protocols, checked against one reference.
fuzz_build sasl_fuzzer "$HERE/sasl_fuzzer.cc" "$SMTP/sasl.cc" \
  "$FUZZ_ROOT/protocols/imap/args.cc" "$FUZZ_ROOT/protocols/imap/arg.cc" \
  "$FUZZ_ROOT/protocols/imap/mutf7.cc" "$FUZZ_ROOT/common/mutf7.cc" \
  "$FUZZ_ROOT/common/utf8.cc" "$FUZZ_ROOT/protocols/pop3/args.cc" \
  "$FUZZ_ROOT/protocols/pop3/command_table.cc" -- "${LIBS[@]}"
# Replies of remote servers to the relay's SMTP client.
fuzz_build client_reply_fuzzer "$HERE/client_reply_fuzzer.cc" \
  "$SMTP/client_reply.cc" -- "${LIBS[@]}"

fuzz_run data_scanner_fuzzer "$HERE/corpus_data_scanner"
fuzz_run session_fuzzer "$HERE/corpus_session"
fuzz_run sasl_fuzzer "$HERE/corpus_sasl"
# Lines are capped at 2 KiB and replies at 200 lines: 64 KiB reaches both.
fuzz_run --max-len 65536 client_reply_fuzzer "$HERE/corpus_client_reply"
fuzz_finish
