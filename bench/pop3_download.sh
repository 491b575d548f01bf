#!/usr/bin/env bash
# POP3 download benchmark: ringmail vs. Debian's Dovecot pop3, same machine,
# same run, same tree. USERS users with MESSAGES messages of about SIZE
# octets each (generated on disk in ringmail's Maildir layout, LF line ends,
# in new/, no UID list yet); each server gets its own copy, made before
# either starts. A client (bench/pop3/load.py, asyncio over PROCS processes,
# CONCURRENCY sessions at once) has every user log in (USER/PASS), STAT,
# UIDL, RETR every message one command at a time, QUIT. Pass 1 is the first
# download (the server assigns UIDs and builds its index), later passes
# repeat it. Rate = messages (or RETR octets) / first connect .. last QUIT.
#
# --client ringbench swaps the Python client (which needs about one core of
# its own and so caps both servers) for ringbench's pop3 mode (C++, io_uring,
# one thread): each of CONCURRENCY connections logs in as user i mod USERS and
# repeats its session for DURATION seconds per pass; rate = RETRs / elapsed.
#
#   bench/pop3_download.sh [--ringmaild PATH] [--users 100] [--messages 200]
#                          [--size 20480] [--concurrency 100] [--procs 2]
#                          [--passes 2] [--timeout 600]
#                          [--only ringmail|dovecot] [--keep]
#                          [--client python|ringbench] [--ringbench PATH]
#                          [--duration 10]
#
# Loopback only. Dovecot runs from a private config in the temp dir
# (tests/integration/dovecot.py; the system dovecot service stays stopped
# and disabled); the temp dir is removed at the end unless --keep.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../tools/lib/common.sh
. "$here/../tools/lib/common.sh"
PY=/usr/bin/python3

users=100 messages=200 size=20480 concurrency=100 procs=2 passes=2 timeout=600
only="" keep=0 ringmaild="" client=python ringbench="" duration=10
while [ $# -gt 0 ]; do
  case "$1" in
    --ringmaild) ringmaild="$2"; shift 2 ;;
    --users) users="$2"; shift 2 ;;
    --messages) messages="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --concurrency) concurrency="$2"; shift 2 ;;
    --procs) procs="$2"; shift 2 ;;
    --passes) passes="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    --client) client="$2"; shift 2 ;;
    --ringbench) ringbench="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "pop3_download.sh runs its own dovecot and needs root" >&2; exit 1; }

rm_ensure_packages
if [ -z "$ringmaild" ] && [ "$only" != dovecot ]; then
  rm_build_daemon
  ringmaild="$RINGMAILD"
fi
if [ "$client" = ringbench ] && [ -z "$ringbench" ]; then
  rm_log "bazel build -c opt //bench:ringbench"
  (cd "$RINGMAIL_ROOT" && bazel build -c opt --symlink_prefix=/ //bench:ringbench </dev/null)
  ringbench="$(cd "$RINGMAIL_ROOT" && bazel info -c opt bazel-bin 2>/dev/null)/bench/ringbench/ringbench"
fi

work="$(mktemp -d /tmp/ringmail-pop3bench.XXXXXX)"
chmod 711 "$work"
driver_pid=""
cleanup() {
  set +e
  # The driver stops its servers on SIGTERM (its finally blocks run).
  if [ -n "$driver_pid" ]; then kill -TERM "$driver_pid" 2>/dev/null; wait "$driver_pid" 2>/dev/null; fi
  if [ "$keep" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A private copy of the binary: a concurrent `bazel build -c opt` elsewhere
# must not swap it under the run.
if [ -n "$ringmaild" ]; then
  cp "$(readlink -f "$ringmaild")" "$work/ringmaild"
else
  : > "$work/ringmaild"
fi
client_args=(--client "$client")
if [ "$client" = ringbench ]; then
  cp "$(readlink -f "$ringbench")" "$work/ringbench"
  client_args+=(--ringbench "$work/ringbench" --duration "$duration")
fi

echo "machine: $(nproc) cores, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
only_arg=()
[ -n "$only" ] && only_arg=(--only "$only")
timeout $(((timeout + duration) * (passes * 2 + 1) + 300)) $PY "$here/pop3/driver.py" --ringmaild "$work/ringmaild" \
  --work "$work" --users "$users" --messages "$messages" --size "$size" \
  --concurrency "$concurrency" --procs "$procs" --passes "$passes" --timeout "$timeout" \
  "${only_arg[@]}" "${client_args[@]}" >"$work/results" &
driver_pid=$!
status=0
wait "$driver_pid" || status=$?
driver_pid=""

echo
echo "POP3 download: $users users x $messages msgs x ~$size B, $concurrency sessions, client $client ($procs procs if python), $(nproc) cores, load average now $(cut -d' ' -f1-3 /proc/loadavg)"
awk '
  $1 == "RESULT" {
    printf "%-9s pass %d: %8.0f msgs/s %8.1f MB/s  (%d msgs, %.1f MB in %.2f s; client CPU %.1f s)\n",
      $2, $3, $4 / $6, $5 / $6 / 1e6, $4, $5 / 1e6, $6, $7
    rate[$2 "," $3] = $4 / $6
  }
  END {
    for (p = 1; ("ringmail," p) in rate && ("dovecot," p) in rate; p++)
      printf "ratio ringmail/dovecot pass %d: %.2f\n", p, rate["ringmail," p] / rate["dovecot," p]
  }' "$work/results"
exit "$status"
