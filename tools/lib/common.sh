# Shared set-up for tools/run, tools/test and bench/*. Source it; do not run it.
#   rm_ensure_packages [extra-pkg...]   install what packages.txt (+extras) lists
#                                       and dpkg says is missing; apt-get update once
#   rm_build_daemon                     bazel build //server:ringmaild
# Sets RINGMAIL_ROOT (repository root) and RINGMAILD (built binary path).

RINGMAIL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RINGMAILD="$RINGMAIL_ROOT/bazel-bin/server/ringmaild"
export DEBIAN_FRONTEND=noninteractive

rm_log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }

# Prints the packages (from packages.txt plus arguments) that dpkg does not
# report as installed.
rm_missing_packages() {
  local p
  { sed -e 's/#.*//' -e 's/[[:space:]]//g' "$RINGMAIL_ROOT/tools/lib/packages.txt"; printf '%s\n' "$@"; } |
    grep -v '^$' | sort -u | while read -r p; do
      if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        echo "$p"
      fi
    done
}

rm_ensure_packages() {
  local missing sudo=""
  missing=$(rm_missing_packages "$@")
  [ -z "$missing" ] && return 0
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  rm_log "installing missing Debian packages: $(echo $missing)"
  # postfix asks a debconf question; preselect the no-op answer.
  if echo "$missing" | grep -qx postfix; then
    echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
  fi
  $sudo apt-get update -q
  # shellcheck disable=SC2086
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing </dev/null
  # One system "dovecot" service serves IMAP and POP3 (110/995 once
  # dovecot-pop3d is in); fetchmail ships a daemon of its own.
  if echo "$missing" | grep -qxE 'dovecot-(core|imapd|pop3d|lmtpd)'; then
    rm_disable_service dovecot
  fi
  if echo "$missing" | grep -qx fetchmail; then
    rm_disable_service fetchmail
  fi
}

# Stops a system service a package just installed and keeps it from starting
# at boot: tests start their own instances on private ports, and a system one
# would hold the well-known ports (dovecot: 143/993). Best effort (containers
# often have neither systemd nor a running service).
rm_disable_service() {
  local svc="$1" sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    $sudo systemctl stop "$svc" >/dev/null 2>&1 || true
    $sudo systemctl disable "$svc" >/dev/null 2>&1 || true
  else
    if [ -x "/etc/init.d/$svc" ]; then
      $sudo "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
    fi
    if command -v update-rc.d >/dev/null 2>&1; then
      $sudo update-rc.d "$svc" disable >/dev/null 2>&1 || true
    fi
  fi
}

rm_build_daemon() {
  rm_log "bazel build //server:ringmaild"
  (cd "$RINGMAIL_ROOT" && bazel build //server:ringmaild </dev/null) || return 1
  # bazel-bin follows the configuration of the latest build (a later
  # --config=asan or -c opt run re-points it), so keep a copy of this
  # binary at a path of our own for everything that runs it afterwards.
  local built
  built=$(readlink -f "$RINGMAIL_ROOT/bazel-bin/server/ringmaild") || return 1
  RINGMAIL_BUILD_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ringmail-build.XXXXXX")
  cp "$built" "$RINGMAIL_BUILD_DIR/ringmaild"
  RINGMAILD="$RINGMAIL_BUILD_DIR/ringmaild"
  export RINGMAILD
}

# Prints --allow_root=true when this script runs as root and the ringmaild
# at $1 knows the flag: benchmarks write their trees as root next to it and
# keep it root on purpose (docs/operations.md, "Users and permissions").
rm_root_flags() {
  if [ "$(id -u)" = 0 ] && "$1" --help 2>&1 | grep -q -- '--allow_root='; then
    echo --allow_root=true
  fi
}
