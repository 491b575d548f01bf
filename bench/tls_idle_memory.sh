#!/usr/bin/env bash
# Memory per idle IMAP session, IMAPS vs plaintext, against a real ringmaild
# built with -c opt (bench/tls/idle_memory.py: server PSS from smaps_rollup,
# kernel socket buffers from `ss -tm` and socket slabs from /proc/slabinfo).
#
#   bench/tls_idle_memory.sh [--sessions 2000] [--users 20] [--warmup 100]
#                            [--settle 2] [--kinds imap,imaps]
#
# Loopback only, bounded by --sessions; raises ulimit -n for itself and the
# daemon; closes every session, stops the daemon and removes its temp dir.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"

# Two descriptors per session (client and server end) plus slack.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
(cd "$root" && bazel build -c opt //server:ringmaild </dev/null) >&2
work="$(mktemp -d "${TMPDIR:-/tmp}/ringmail-tlsidle.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp "$root/bazel-out/k8-opt/bin/server/ringmaild" "$work/ringmaild"
RINGMAILD="$work/ringmaild" timeout 1800 /usr/bin/python3 "$here/tls/idle_memory.py" "$@"
