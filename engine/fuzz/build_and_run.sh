#!/bin/bash
# Builds the engine's libFuzzer targets with clang (outside Bazel) and runs
# each for SECONDS on a copy of its seed corpus. Exits non-zero on a crash or
# a build failure.
#   usage: engine/fuzz/build_and_run.sh OUT_DIR SECONDS
# Needs the Debian packages clang, libclang-rt-14-dev and libc-ares-dev.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR/../..
# shellcheck source=tools/lib/fuzz.sh
. "$HERE/../../tools/lib/fuzz.sh"
fuzz_init "$@"
ENGINE=$FUZZ_ROOT/engine

# DNS replies to the relay's MX/A/AAAA queries (the fuzzer stubs the one
# SocketAddress method dns_names.cc needs; see its comment).
fuzz_build dns_reply_fuzzer "$HERE/dns_reply_fuzzer.cc" \
  "$ENGINE/dns_reply.cc" "$ENGINE/dns_names.cc" -- \
  absl_strings absl_str_format absl_status absl_statusor -lcares

# A DNS message over UDP is at most 64 KiB (RFC 1035 §4.2.1 with EDNS).
fuzz_run --max-len 65536 dns_reply_fuzzer "$HERE/corpus_dns_reply"
fuzz_finish
