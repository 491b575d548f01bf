#!/usr/bin/env bash
# IMAP FETCH and POP3 RETR throughput over TLS (IMAPS/POP3S) vs plaintext,
# against one real ringmaild built with -c opt. The client is Python on raw
# sockets (bench/tls/throughput.py); see that file for what is timed.
#
#   bench/tls_throughput.sh [--messages 200] [--size 102400] [--passes 3] [--rounds 10]
#                           [--threads 2]
#
# Loopback only; the daemon's temp dir (certificate, data) is removed at the
# end. Prints JSON lines per pass and a Markdown table.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"

(cd "$root" && bazel build -c opt //server:ringmaild </dev/null) >&2
work="$(mktemp -d "${TMPDIR:-/tmp}/ringmail-tlsbench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# A private copy: a concurrent build elsewhere must not swap it mid-run.
cp "$root/bazel-out/k8-opt/bin/server/ringmaild" "$work/ringmaild"
RINGMAILD="$work/ringmaild" timeout 1800 /usr/bin/python3 "$here/tls/throughput.py" "$@"
