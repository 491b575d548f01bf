#!/usr/bin/env bash
# Outbound relay drain benchmark (issue #7): fill the queue with MESSAGES
# messages to DESTINATIONS domains (d0.test ..), each served by a loopback
# smtp-sink (Debian postfix package; it counts and discards), then release
# the queue and time until it is empty. The same for a private Postfix
# instance relaying to the same sinks, in the same run; runs alternate
# ringmail/Postfix and the medians are compared.
#
#   bench/relay_drain.sh [--messages 100000] [--destinations 10] [--size 4096]
#                        [--runs 1] [--sessions 20] [--ringmaild PATH]
#                        [--ringctl PATH] [--timeout 1800] [--only ringmail|postfix]
#                        [--keep]
#
# Fill: smtp-source (-d: connections reused), SESSIONS sessions in all, every
# message one recipient bench@d<i mod DESTINATIONS>.test. Both MTAs answer 250
# only once the message is durable (ringmail: its default storage.durability
# = journal; Postfix: cleanup fsyncs the queue file). ringmail fills with the
# sinks down: the first few attempts per destination are refused and back
# the destination off (--relay_backoff=1h), so the rest waits; the drain
# starts with `ringctl queue flush` (every recipient due now, back-off
# cleared) once the sinks are up. Postfix puts every message on hold
# (header_checks HOLD); `postsuper -H ALL` (timed separately, not part of
# the drain) moves them to the deferred queue and the drain starts with
# `postqueue -f`.
# Drain time: from the release command until the spool has no queue file
# (ringmail: queue/c*/new; Postfix: incoming, active, deferred); the sinks'
# counters must then add up to MESSAGES.
# Routing: ringmail looks up MX records (d<k>.test -> mx.d<k>.test ->
# 127.0.0.<11+k>) at a private dnsmasq (TTL 1h, so its cache answers after
# the first lookup); Postfix uses transport_maps "d<k>.test
# smtp:[127.0.0.<11+k>]:PORT" (no DNS). No TLS on either side.
# Needs root (Postfix, dnsmasq, sinks as user nobody). Not part of CI.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../tools/lib/common.sh
. "$here/../tools/lib/common.sh"
# shellcheck source=lib/postfix.sh
. "$here/lib/postfix.sh"
PY=/usr/bin/python3
HELPER="$here/lib/relay_drain.py"

messages=100000 destinations=10 size=4096 runs=1 sessions=20 timeout=1800
only="" keep=0 ringmaild="" ringctl=""
while [ $# -gt 0 ]; do
  case "$1" in
    --messages) messages="$2"; shift 2 ;;
    --destinations) destinations="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --sessions) sessions="$2"; shift 2 ;;
    --ringmaild) ringmaild="$2"; shift 2 ;;
    --ringctl) ringctl="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
if [ "$destinations" -lt 1 ] || [ "$destinations" -gt 100 ]; then
  echo "--destinations must be 1..100" >&2; exit 2
fi

log() { printf '[relay_drain %s] %s\n' "$(date +%T)" "$*" >&2; }

# ---------------------------------------------------------------- set-up
rm_ensure_packages postfix dnsmasq
for b in /usr/sbin/smtp-source /usr/sbin/smtp-sink /usr/sbin/dnsmasq; do
  [ -x "$b" ] || { log "missing $b"; exit 1; }
done
pf_stop_system

if [ "$only" != postfix ]; then
  if [ -z "$ringmaild" ]; then
    rm_build_daemon
    ringmaild="$RINGMAILD"
  fi
  if [ -z "$ringctl" ]; then
    (cd "$RINGMAIL_ROOT" && bazel build //tools/ringctl </dev/null) || exit 1
    ringctl="$(dirname "$ringmaild")/ringctl"
    cp "$(readlink -f "$RINGMAIL_ROOT/bazel-bin/tools/ringctl/ringctl")" "$ringctl"
  fi
  [ -x "$ringmaild" ] && [ -x "$ringctl" ] || { log "ringmaild/ringctl not found"; exit 1; }
fi

work="$(mktemp -d /tmp/ringmail-relaybench.XXXXXX)"
chmod 755 "$work"
rm_pid="" dns_pid="" sink_pids=() pf_dir=""
stop_sinks() {
  local p
  for p in "${sink_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${sink_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  sink_pids=()
}
stop_ringmaild() {
  [ -n "$rm_pid" ] || return 0
  kill -TERM "$rm_pid" 2>/dev/null
  for _ in $(seq 300); do kill -0 "$rm_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$rm_pid" 2>/dev/null || true
  wait "$rm_pid" 2>/dev/null || true
  rm_pid=""
}
cleanup() {
  set +e
  stop_ringmaild
  [ -n "$pf_dir" ] && pf_stop "$pf_dir"
  stop_sinks
  [ -n "$dns_pid" ] && kill -TERM "$dns_pid" 2>/dev/null
  if [ "$keep" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

hosts=()
for ((k = 0; k < destinations; k++)); do hosts+=("127.0.0.$((11 + k))"); done
sink_port=$($PY "$HELPER" freeport "${hosts[@]}")

# dnsmasq for ringmail's MX lookups (a few attempts: the UDP port we picked
# may be taken before dnsmasq binds it).
start_dns() {
  local args=() k
  for ((k = 0; k < destinations; k++)); do
    args+=("--mx-host=d$k.test,mx.d$k.test,10" "--host-record=mx.d$k.test,${hosts[$k]}")
  done
  for _ in 1 2 3 4 5; do
    dns_port=$($PY "$HELPER" udpport)
    /usr/sbin/dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
      --no-poll --bind-interfaces --listen-address=127.0.0.1 --local=/test/ \
      --port="$dns_port" --user=root --group=root --pid-file="$work/dnsmasq.pid" \
      --log-facility=- --local-ttl=3600 "${args[@]}" >"$work/dnsmasq.log" 2>&1 &
    dns_pid=$!
    sleep 0.3
    kill -0 "$dns_pid" 2>/dev/null && return 0
    wait "$dns_pid" 2>/dev/null || true
    dns_pid=""
  done
  log "dnsmasq did not start:"; cat "$work/dnsmasq.log" >&2; return 1
}

# One smtp-sink per destination address; -c writes "sess= quit= mesg="
# counters to its stdout, which relay_drain.py sums.
start_sinks() {  # DIR
  local d="$1" k
  mkdir -p "$d"
  for ((k = 0; k < destinations; k++)); do
    /usr/sbin/smtp-sink -u nobody -c -m 1000 -h "mx.d$k.test" "${hosts[$k]}:$sink_port" 1024 \
      >"$d/sink$k.out" 2>"$d/sink$k.err" &
    sink_pids+=($!)
  done
  for ((k = 0; k < destinations; k++)); do
    $PY "$HELPER" wait-banner "${hosts[$k]}:$sink_port" 10 || return 1
  done
}
sink_outputs() { local k; for ((k = 0; k < destinations; k++)); do printf '%s\n' "$1/sink$k.out"; done; }

inject() {  # TARGET LOGFILE
  $PY "$HELPER" inject --target "$1" --messages "$messages" --destinations "$destinations" \
    --size "$size" --sessions "$sessions" --log "$2"
}

# ---------------------------------------------------------------- sinks alone
# What the sinks take when smtp-source (one process per sink) feeds them
# directly: the ceiling for both MTAs on this machine.
sink_capacity() {
  local d="$work/sinkcheck" t0 t1
  start_sinks "$d" || return 1
  t0=$(date +%s.%N)
  local pids=() k n=$((messages / destinations))
  for ((k = 0; k < destinations; k++)); do
    /usr/sbin/smtp-source -d -l "$size" -m "$n" -s 2 -f bench@sender.test \
      -t "bench@d$k.test" "${hosts[$k]}:$sink_port" >/dev/null 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  t1=$(date +%s.%N)
  sleep 0.3
  local got; got=$($PY -c "import sys; sys.path.insert(0, '$here/lib'); import relay_drain as r; print(r.sink_count(sys.argv[1:]))" $(sink_outputs "$d"))
  stop_sinks
  awk -v n="$got" -v a="$t0" -v b="$t1" 'BEGIN { printf "sinks alone: %d messages in %.2f s = %.0f msg/s (smtp-source, 2 sessions per sink, connections reused)\n", n, b - a, n / (b - a) }'
}

# ---------------------------------------------------------------- ringmail
run_ringmail() {  # RUN
  local d="$work/ringmail.$1"
  mkdir -p "$d/data"
  printf 'nobody@bench.invalid:{PLAIN}bench-not-a-secret::::::\n' > "$d/passwd"
  "$ringmaild" --data_dir="$d/data" --passwd_file="$d/passwd" --smtp_listen=127.0.0.1:0 --imap_listen=127.0.0.1:0 \
    --pop3_listen=127.0.0.1:0 --submission_listen=127.0.0.1:0 --smtps_listen=127.0.0.1:0 \
    --imaps_listen=127.0.0.1:0 --pop3s_listen=127.0.0.1:0 --ports_file="$d/ports" \
    --hostname=bench-ringmail.localdomain --trusted_networks=127.0.0.0/8 $(rm_root_flags "$ringmaild") \
    --dns_servers="127.0.0.1:$dns_port" --relay_port="$sink_port" --relay_tls=none \
    --retry_schedule=1h --relay_backoff=1h --delay_warning=0 \
    2>"$d/ringmaild.log" &
  rm_pid=$!
  for _ in $(seq 300); do [ -s "$d/ports" ] && break; kill -0 "$rm_pid" 2>/dev/null || break; sleep 0.1; done
  local addr; addr=$(awk '$1=="smtp"{print $2; exit}' "$d/ports" 2>/dev/null)
  [ -n "$addr" ] || { log "ringmaild did not start"; tail -20 "$d/ringmaild.log" >&2; return 1; }
  $PY "$HELPER" wait-banner "$addr" 30
  log "ringmail run $1: filling the queue ($messages messages, sinks down)"
  inject "$addr" "$d/smtp-source.log" || { log "injection failed"; tail -5 "$d/smtp-source.log" >&2; return 1; }
  $PY "$HELPER" wait-files --glob "$d/data/queue/c*/new" --count "$messages" --timeout 60 || return 1
  start_sinks "$d/sinks" || return 1
  log "ringmail run $1: draining (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  local rc=0
  $PY "$HELPER" drain --label ringmail --messages "$messages" --timeout "$timeout" \
    --empty "$d/data/queue/c*/new" --sinks $(sink_outputs "$d/sinks") -- \
    "$ringctl" --control_socket="$d/data/ringmail.sock" queue flush >"$d/result" || rc=$?
  cat "$d/result"
  kill -0 "$rm_pid" 2>/dev/null || { log "ringmaild died"; tail -5 "$d/ringmaild.log" >&2; rc=1; }
  stop_ringmaild
  stop_sinks
  [ "$keep" = 1 ] || rm -rf "$d/data"
  return "$rc"
}

# ---------------------------------------------------------------- postfix
run_postfix() {  # RUN
  local d="$work/postfix.$1" port k
  port=$($PY "$HELPER" freeport 127.0.0.1)
  mkdir -p "$d/etc"
  : > "$d/etc/transport"
  for ((k = 0; k < destinations; k++)); do
    printf 'd%d.test smtp:[%s]:%s\n' "$k" "${hosts[$k]}" "$sink_port" >> "$d/etc/transport"
  done
  pf_dir="$d"
  pf_start_relay "$d" "$port" "$d/etc/transport" || { log "postfix did not start"; return 1; }
  $PY "$HELPER" wait-banner "127.0.0.1:$port" 30 || { tail -20 "$d/maillog" >&2; return 1; }
  log "postfix run $1: filling the queue ($messages messages, on hold)"
  inject "127.0.0.1:$port" "$d/smtp-source.log" || { log "injection failed"; tail -5 "$d/smtp-source.log" >&2; return 1; }
  $PY "$HELPER" wait-files --glob "$d/queue/hold" --count "$messages" --timeout 120 || return 1
  start_sinks "$d/sinks" || return 1
  local t0 t1
  t0=$(date +%s.%N)
  postsuper -c "$d/etc" -H ALL 2>"$d/postsuper.log"
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "postfix: postsuper -H ALL took %.2f s (not in the drain time)\n", b - a }' >&2
  log "postfix run $1: draining (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  local rc=0
  $PY "$HELPER" drain --label postfix --messages "$messages" --timeout "$timeout" \
    --empty "$d/queue/incoming" "$d/queue/active" "$d/queue/deferred" "$d/queue/maildrop" \
    --sinks $(sink_outputs "$d/sinks") -- postqueue -c "$d/etc" -f >"$d/result" || rc=$?
  cat "$d/result"
  [ "$rc" = 0 ] || tail -20 "$d/maillog" >&2
  pf_stop "$d"
  pf_dir=""
  stop_sinks
  [ "$keep" = 1 ] || rm -rf "$d/queue"
  return "$rc"
}

# ---------------------------------------------------------------- main
log "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo), $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
log "$messages messages of $size bytes to $destinations destinations, $runs run(s), sinks on ${hosts[0]}..${hosts[-1]}:$sink_port"
start_dns
sink_capacity | tee "$work/sinkcheck.txt"
status=0
results=()
for ((r = 1; r <= runs; r++)); do
  if [ "$only" != postfix ]; then run_ringmail "$r" || status=1; results+=("$work/ringmail.$r/result"); fi
  if [ "$only" != ringmail ]; then run_postfix "$r" || status=1; results+=("$work/postfix.$r/result"); fi
done
echo
cat "$work/sinkcheck.txt"
$PY "$HELPER" report "${results[@]}"
[ "$status" = 0 ] || log "some run failed (see above); its figures are not in the table"
exit "$status"
