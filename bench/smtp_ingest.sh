#!/usr/bin/env bash
# SMTP ingest benchmark: ringmail vs. a private Postfix instance, same machine,
# same run, same load: smtp-source (Debian postfix package) sends MESSAGES
# messages of SIZE bytes over SESSIONS parallel sessions, one NEW connection per
# message (smtp-source's default; -d would reuse connections and is not used).
# Rate = delivered messages / (first connection .. newest file in Maildir/new).
#
#   bench/smtp_ingest.sh [--ringmaild PATH] [--messages 20000] [--sessions 20]
#                        [--size 4096] [--timeout 900] [--only ringmail|postfix]
#                        [--fs fresh|host] [--keep]
#
# --fs fresh (default when run as root with loop devices): each server gets a
# file system of its own, made for its run: a new ext4 (mkfs defaults, so with
# its journal) on a loop device with direct I/O over an image under the work
# directory, unmounted and deleted afterwards. Both servers then start from
# the same empty state, instead of inheriting whatever earlier runs deleted
# (on an ext4 without a journal, inode allocation skips every inode freed in
# the last minutes, and a run right after another measured 30-50 % slower).
# --fs host runs both in the work directory under /tmp as it is.
#
# Installs postfix if missing (debconf: "No configuration"), makes sure the
# system Postfix is stopped and disabled, and never touches /etc/postfix or
# port 25: the Postfix under test is a private instance (own config_directory,
# queue_directory, data_directory under a temp dir, loopback, free high port,
# virtual(8) delivery to a Maildir).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../tools/lib/common.sh
. "$here/../tools/lib/common.sh"
# shellcheck source=lib/postfix.sh
. "$here/lib/postfix.sh"
# shellcheck source=lib/fresh_fs.sh
. "$here/lib/fresh_fs.sh"
PY=/usr/bin/python3
HELPER="$here/smtp_ingest/helper.py"

messages=20000 sessions=20 size=4096 timeout=900 only="" keep=0 ringmaild=""
fs=fresh fs_size=4G
while [ $# -gt 0 ]; do
  case "$1" in
    --ringmaild) ringmaild="$2"; shift 2 ;;
    --ringmaild=*) ringmaild="${1#*=}"; shift ;;
    --messages) messages="$2"; shift 2 ;;
    --sessions) sessions="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --fs) fs="$2"; shift 2 ;;
    --fs=*) fs="${1#*=}"; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

log() { printf '[smtp_ingest %s] %s\n' "$(date +%T)" "$*" >&2; }
case "$fs" in fresh|host) ;; *) echo "--fs must be fresh or host" >&2; exit 2 ;; esac
if [ "$fs" = fresh ]; then
  if ! fs_fresh_possible; then
    log "no loop device or mkfs.ext4 (or not root): using --fs host"
    fs=host
  fi
fi

# ---------------------------------------------------------------- set-up
rm_ensure_packages postfix
SMTP_SOURCE=/usr/sbin/smtp-source
[ -x "$SMTP_SOURCE" ] || { log "missing $SMTP_SOURCE"; exit 1; }

# The system Postfix must not run or bind port 25 (Debian's postinst may have
# started it where services can start).
pf_stop_system

if [ "$only" != postfix ]; then
  if [ -z "$ringmaild" ]; then
    rm_ensure_packages
    rm_build_daemon
    ringmaild="$RINGMAILD"
  fi
  [ -x "$ringmaild" ] || { log "ringmaild not found at $ringmaild"; exit 1; }
fi

work="$(mktemp -d /tmp/ringmail-bench.XXXXXX)"
chmod 755 "$work"
rm_pid="" pf_conf="" measure_pid=""

# Gives directory $1 a new, empty ext4 of its own (see --fs above).
fresh_fs() {
  fs_fresh "$1" "$fs_size" || return 1
  chmod 755 "$1"
}
release_fs() {
  # --keep keeps the images (mount them with: mount -o loop IMAGE DIR).
  FS_KEEP_IMAGES=$keep fs_release
}
describe_fs() {
  if [ "$fs" = fresh ]; then
    echo "a new ext4 per server ($fs_size, mkfs defaults: journal, data=ordered) on a loop device with direct I/O"
  else
    echo "host: $(df -T "$work" | awk 'NR==2{print $2" on "$1}') ($work)"
  fi
}
cleanup() {
  set +e
  # The measuring helper kills its smtp-source on SIGTERM.
  if [ -n "$measure_pid" ]; then kill -TERM "$measure_pid" 2>/dev/null; wait "$measure_pid" 2>/dev/null; fi
  if [ -n "$rm_pid" ] && kill -0 "$rm_pid" 2>/dev/null; then
    kill -TERM "$rm_pid"; for _ in $(seq 100); do kill -0 "$rm_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$rm_pid" 2>/dev/null
  fi
  [ -n "$pf_conf" ] && pf_stop "$work/postfix"
  release_fs
  if [ "$keep" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

from="bench@sender.test"
to="sink@bench.test"
smtp_source_args=(-c -l "$size" -m "$messages" -s "$sessions" -f "$from" -t "$to")

# ---------------------------------------------------------------- ringmail
run_ringmail() {
  local d="$work/ringmail"
  if [ "$fs" = fresh ]; then fresh_fs "$d" || { log "could not make a file system for ringmail"; return 1; }; fi
  mkdir -p "$d/data"
  printf '%s:{PLAIN}bench-not-a-secret::::::\n' "$to" > "$d/passwd"
  # Durability is on by default in ringmaild (fsync before 250).
  "$ringmaild" --data_dir="$d/data" --passwd_file="$d/passwd" --smtp_listen=127.0.0.1:0 --imap_listen=127.0.0.1:0 --pop3_listen=127.0.0.1:0 \
    --submission_listen=127.0.0.1:0 --smtps_listen=127.0.0.1:0 --imaps_listen=127.0.0.1:0 --pop3s_listen=127.0.0.1:0 \
    --ports_file="$d/ports" --hostname=bench-ringmail.localdomain $(rm_root_flags "$ringmaild") 2>"$d/ringmaild.log" &
  rm_pid=$!
  if ! $PY "$HELPER" wait-file "$d/ports" 30 "$rm_pid"; then tail -20 "$d/ringmaild.log" >&2; return 1; fi
  local addr; addr=$(awk '$1=="smtp"{print $2; exit}' "$d/ports")
  log "ringmail pid $rm_pid listening on $addr"
  $PY "$HELPER" wait-banner "${addr##*:}" 30
  $PY "$HELPER" run --maildir "$d/data/mail/bench.test/sink/Maildir/new" --count "$messages" \
    --timeout "$timeout" --label ringmail --log "$d/smtp-source.log" -- \
    "$SMTP_SOURCE" "${smtp_source_args[@]}" "$addr" >"$d/result" &
  measure_pid=$!
  local rc=0; wait "$measure_pid" || rc=$?
  measure_pid=""
  cat "$d/result"
  local st=0 crashed=0
  kill -0 "$rm_pid" 2>/dev/null || crashed=1
  kill -TERM "$rm_pid" 2>/dev/null
  wait "$rm_pid" 2>/dev/null || st=$?
  rm_pid=""
  if [ "$crashed" = 1 ]; then
    log "ringmaild died during the run (status $st); last log lines:"; tail -5 "$d/ringmaild.log" >&2; rc=1
  elif [ "$st" != 0 ]; then
    log "ringmaild exited with status $st after SIGTERM"; rc=1
  fi
  return "$rc"
}

# ---------------------------------------------------------------- postfix
run_postfix() {
  local d="$work/postfix" port
  if [ "$fs" = fresh ]; then fresh_fs "$d" || { log "could not make a file system for postfix"; return 1; }; fi
  pf_conf="$d/etc"
  mkdir -p "$pf_conf" "$d/queue" "$d/data" "$d/mail"
  port=$($PY "$HELPER" freeport)
  printf '%s bench.test/sink/Maildir/\n' "$to" > "$pf_conf/vmailbox"
  pf_start "$d" "$port" bench.test "$pf_conf/vmailbox" || { log "postfix did not start"; return 1; }
  log "postfix (private instance $pf_conf) listening on 127.0.0.1:$port"
  $PY "$HELPER" wait-banner "$port" 30 || { tail -20 "$d/maillog" >&2; return 1; }
  $PY "$HELPER" run --maildir "$d/mail/bench.test/sink/Maildir/new" --count "$messages" \
    --timeout "$timeout" --label postfix --log "$d/smtp-source.log" -- \
    "$SMTP_SOURCE" "${smtp_source_args[@]}" "127.0.0.1:$port" >"$d/result" &
  measure_pid=$!
  local rc=0; wait "$measure_pid" || rc=$?
  measure_pid=""
  cat "$d/result"
  [ "$rc" = 0 ] || tail -20 "$d/maillog" >&2
  pf_stop "$d"
  return "$rc"
}

# ---------------------------------------------------------------- main
log "load: smtp-source ${smtp_source_args[*]} (new connection per message)"
log "machine: $(nproc) cores, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
log "file system: $(describe_fs)"
status=0
if [ "$only" != postfix ]; then run_ringmail || status=1; fi
if [ "$only" != ringmail ]; then run_postfix || status=1; fi

# A rate is only reported for a complete run (all messages delivered).
rate() { awk -v want="$messages" '$3 == want {print $5}' "$work/$1/result" 2>/dev/null; }
line() {  # label
  local f="$work/$1/result" r
  [ -s "$f" ] || return 0
  r=$(rate "$1")
  if [ -n "$r" ]; then
    awk '{printf "%.1f msgs/s  (%d delivered in %s s)", $5, $3, $4}' "$f"
  else
    awk -v want="$messages" '{printf "FAILED (%d of %d delivered)", $3, want}' "$f"
  fi
}
r=$(rate ringmail || true) p=$(rate postfix || true)
echo
echo "SMTP ingest: $messages msgs x $size B, $sessions sessions, new connection per message, $(nproc) cores, load average now $(cut -d' ' -f1-3 /proc/loadavg)"
echo "file system: $(describe_fs)"
[ -s "$work/ringmail/result" ] && echo "ringmail: $(line ringmail)"
[ -s "$work/postfix/result" ] && echo "postfix:  $(line postfix) [Postfix $(postconf -d -h mail_version)]"
if [ -n "$r" ] && [ -n "$p" ]; then
  echo "ratio ringmail/postfix: $(awk -v a="$r" -v b="$p" 'BEGIN{printf "%.2f", a/b}')"
elif [ "$only" = "" ]; then
  echo "ratio ringmail/postfix: n/a (a run did not complete)"
fi
exit "$status"
