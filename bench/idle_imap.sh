#!/usr/bin/env bash
# Idle IMAP sessions (issues 4 and 8): N sessions LOGIN + SELECT INBOX +
# IDLE against a fresh ringmaild built with -c opt, the server's memory per
# idle session (PSS + its kernel share) and, while they all IDLE, the
# delivery -> "* n EXISTS" latency of mail sent by SMTP to their users.
#
#   bench/idle_imap.sh [--sessions 100000] [--users N] [--settle 3]
#                      [--deliver-rate 50] [--deliveries 500]
#                      [--server-threads 2] [--client-threads 2] [--json-out F]
#
# See bench/idle/idle_imap.py for what is measured and how. Each of
# ringmaild and ringbench needs one descriptor per session plus ~1000: the
# script raises its soft RLIMIT_NOFILE up to the hard limit (inherited by
# both) and says so when the hard limit is too low (raising that needs
# CAP_SYS_RESOURCE, e.g. `prlimit` or limits.conf, outside this script).
# Sources are spread over 127.0.0.0/8, so the 28k ephemeral ports of one
# address are no limit; no sysctl is changed. Loopback only; the daemon is
# stopped and its temp dir removed at the end.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(cd "$root" && bazel build -c opt //server:ringmaild //bench:ringbench </dev/null) >&2
work="$(mktemp -d "${TMPDIR:-/tmp}/ringmail-idle.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# Copies: other builds may replace bazel-out while the benchmark runs.
cp "$root/bazel-out/k8-opt/bin/server/ringmaild" "$work/ringmaild"
cp "$root/bazel-out/k8-opt/bin/bench/ringbench/ringbench" "$work/ringbench"
RINGMAILD="$work/ringmaild" RINGBENCH="$work/ringbench" timeout 3600 \
  /usr/bin/python3 "$here/idle/idle_imap.py" "$@"
