#!/usr/bin/env bash
# carbonguard-server.sh: a drop-in for the product's stock startup script
# (api-manager.sh, wso2server.sh, micro-integrator.sh, ...) that goes through
# carbonguard. It lives in <PRODUCT_HOME>/bin/ beside the stock script, which
# it never edits, and takes the same commands and arguments:
#
#   carbonguard-server.sh start   [-Dkey=value ...]   background; returns once the boot is judged
#   carbonguard-server.sh stop                        SIGTERM, wait, then SIGKILL
#   carbonguard-server.sh restart [-Dkey=value ...]
#   carbonguard-server.sh run     [-Dkey=value ...]   foreground (Ctrl+C stops the server)
#   carbonguard-server.sh         [-Dkey=value ...]   same as run, as the stock script without a command
#   carbonguard-server.sh status                      running?, PID, ports, last verdict, open update
#   carbonguard-server.sh version                     bin/version.txt and carbonguard's version
#
# Commands are accepted as x, -x and --x, like the stock scripts. -Dkey=value
# and a bare -Dkey (which Carbon reads as true) become carbonguard's -D;
# -Dsetup (destructive) becomes --setup, passed only because it was typed.
# Other carbonguard flags (--force --force-reason R, --timeout D, --format json,
# ...) go through as they are; see carbonguard start --help.
#
# The exit status is carbonguard's: 0 up, 1 refused by the check gate,
# 10 boot failed, 11 boot unknown, 32 rolled back after a failed first boot
# after an update, 33 needs attention; run passes the server's own status
# through. status follows the LSB init-script convention instead: 0 running,
# 3 not running, 4 unknown (carbonguard could not tell; its error is shown). When install.sh made the pack a systemd unit and systemd runs,
# start, stop and restart go through systemctl so that the service manager
# keeps owning the server.
set -euo pipefail

# --- installed settings: scripts/install.sh rewrites these lines ---
CARBONGUARD_BIN=${CARBONGUARD_BIN:-carbonguard}
CARBONGUARD_STATE=${CARBONGUARD_STATE:-}
CARBONGUARD_UNIT=${CARBONGUARD_UNIT:-}
CARBONGUARD_USER=${CARBONGUARD_USER:-}
# --- end of installed settings ---

# sd_booted(): systemd is PID 1 when this directory exists. Overridable for tests.
SYSTEMD_RUNTIME_DIR=${CARBONGUARD_SYSTEMD_RUNTIME_DIR:-/run/systemd/system}

prog=$(basename "$0")
die() { echo "$prog: error: $*" >&2; exit 2; }

# The product home is this script's directory's parent, as for the stock
# scripts (CARBON_HOME from the environment is ignored, as they ignore it).
self=$(readlink -f -- "${BASH_SOURCE[0]}")
CARBON_HOME=$(cd -- "$(dirname -- "$self")/.." && pwd -P)

if ! command -v -- "$CARBONGUARD_BIN" >/dev/null 2>&1; then
  die "carbonguard not found (CARBONGUARD_BIN=$CARBONGUARD_BIN); install it with scripts/install.sh or put it on PATH"
fi

# Run as root, carbonguard itself runs as the server's user, so that the
# state directory, the pack and the journal stay owned by that user (the
# systemd unit runs carbonguard as it too). systemctl stays root's.
as_user=()
if [ "$(id -u)" -eq 0 ] && [ -n "$CARBONGUARD_USER" ] && [ "$CARBONGUARD_USER" != root ]; then
  command -v runuser >/dev/null 2>&1 || die "runuser (util-linux) is needed to run carbonguard as $CARBONGUARD_USER"
  as_user=(runuser -u "$CARBONGUARD_USER" --)
fi

global=(--home "$CARBON_HOME")
if [ -n "$CARBONGUARD_STATE" ]; then
  global+=(--state "$CARBONGUARD_STATE")
fi

cmd=""
flags=()
while [ $# -gt 0 ]; do
  arg=$1
  shift
  case $arg in
    start|-start|--start|stop|-stop|--stop|restart|-restart|--restart|run|-run|--run|status|-status|--status|version|-version|--version)
      [ -z "$cmd" ] || die "two commands given: $cmd and ${arg##*-}"
      cmd=${arg##*-}
      ;;
    -Dsetup|-Dsetup=true) flags+=(--setup) ;;
    -D) [ $# -gt 0 ] || die "-D needs key=value"; flags+=(-D "$1"); shift ;;
    -D*=*) flags+=(-D "${arg#-D}") ;;
    -D*) flags+=(-D "${arg#-D}=true") ;;
    debug|-debug|--debug|test|-test|--test)
      die "${arg##*-} runs the JVM unsupervised; use the stock script in $CARBON_HOME/bin for it" ;;
    --cleanRegistry|-cleanRegistry)
      die "$arg is not passed through carbonguard; add it to [start] args in carbonguard.toml, or run the stock script" ;;
    *) flags+=("$arg") ;;
  esac
done
cmd=${cmd:-run}

# systemd owns the server when the pack is a unit and systemd runs: going
# around it would leave a server the service manager does not know about.
use_systemd() {
  [ -n "$CARBONGUARD_UNIT" ] && [ -d "$SYSTEMD_RUNTIME_DIR" ] && command -v systemctl >/dev/null 2>&1 &&
    systemctl cat -- "$CARBONGUARD_UNIT" >/dev/null 2>&1
}

via_systemctl() {
  local verb=$1
  if [ ${#flags[@]} -gt 0 ]; then
    die "$CARBON_HOME runs as systemd unit $CARBONGUARD_UNIT: put properties in carbonguard.toml [start] (extra arguments: ${flags[*]}), or bypass systemd with CARBONGUARD_UNIT= $0 $cmd ..."
  fi
  echo "$prog: $CARBON_HOME is systemd unit $CARBONGUARD_UNIT: systemctl $verb $CARBONGUARD_UNIT" >&2
  local rc=0
  systemctl "$verb" -- "$CARBONGUARD_UNIT" || rc=$?
  if [ "$verb" != stop ]; then
    # The verdict (and an update's commit or rollback) is in carbonguard's state.
    "${as_user[@]}" "$CARBONGUARD_BIN" "${global[@]}" status || true
  fi
  return "$rc"
}

case $cmd in
  start|stop|restart)
    if use_systemd; then
      via_systemctl "$cmd"
      exit
    fi
    exec "${as_user[@]}" "$CARBONGUARD_BIN" "${global[@]}" "$cmd" "${flags[@]}"
    ;;
  run)
    exec "${as_user[@]}" "$CARBONGUARD_BIN" "${global[@]}" run "${flags[@]}"
    ;;
  status)
    # LSB init-script status codes, which service managers and monitoring read:
    # 0 running, 3 not running (carbonguard's 5), 4 unknown (anything else).
    rc=0
    "${as_user[@]}" "$CARBONGUARD_BIN" "${global[@]}" status "${flags[@]}" || rc=$?
    case $rc in
      0) exit 0 ;;
      5) exit 3 ;;
      *) exit 4 ;;
    esac
    ;;
  version)
    for f in "$CARBON_HOME/bin/version.txt" "$CARBON_HOME/bin/wso2carbon-version.txt"; do
      if [ -f "$f" ]; then cat -- "$f"; fi
    done
    exec "$CARBONGUARD_BIN" version
    ;;
esac
