#!/usr/bin/env bash
# carbonguard-update.sh: run WSO2's update tool (u2) on this pack as a
# guarded update (carbonguard update): verified snapshot first, u2 run
# non-interactively, the pack restored at once if u2 fails, and the first
# boot after the update judged, committing it or rolling it back.
# It lives in <PRODUCT_HOME>/bin/ beside wso2update_linux and takes u2's
# arguments:
#
#   carbonguard-update.sh                        update to the latest level
#   carbonguard-update.sh --level 13             update up to level 13 (u2's long flags only)
#   carbonguard-update.sh --continue             finish an update that stopped on conflicts
#   carbonguard-update.sh --start --level 13     start the server afterwards even if it was stopped
#   carbonguard-update.sh --rehearse --level 13  rehearse first: u2 and a first boot on an isolated copy
#                                                while the server runs; it is stopped only if the copy came up
#
# The server: a running server is stopped first and started again after the
# update (through systemctl when install.sh made the pack a systemd unit and
# systemd runs); that start judges the first boot. A stopped server stays
# stopped unless --start; its next start judges the first boot. --no-start
# leaves it stopped either way. With --rehearse the server keeps running while
# the copy is updated and booted (carbonguard update --rehearse-only); only an
# up verdict stops it (the systemd unit through systemctl), then carbonguard
# update --continue applies what u2 changed and the start judges the first
# boot; a copy that does not boot up leaves the server alone (exit 35).
#
# These options are carbonguard's, wherever they appear before "--"; all other
# arguments, and everything after "--", go to u2:
#   --start --no-start --rehearse --continue --no-checks --allow-root --format text|json
#   --username USER --password-file FILE --password-stdin --u2-timeout DURATION
# Credentials: --username with --password-file/--password-stdin, or
# UPDATE_TOOL_USERNAME and UPDATE_TOOL_PASSWORD in the environment; never on
# u2's command line.
#
# The exit status is carbonguard's: 0 updated (and up, when started),
# 30 u2 failed and the pack was restored, 31 conflicts (resolve, then
# --continue; or carbonguard rollback), 32 the first boot failed and the pack
# was rolled back (the old version is up), 33 the boot after the rollback
# failed too (server stopped; a person must look), 35 the rehearsal's copy did
# not boot up (nothing applied, the server untouched), 4 locked, 5 server state.
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
say() { echo "$prog: $*" >&2; }

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

start=auto # auto: start again only what was running
rehearse=no
opts=()
u2=()
while [ $# -gt 0 ]; do
  arg=$1
  shift
  case $arg in
    --) u2+=("$@"); break ;;
    --start) start=yes ;;
    --no-start) start=no ;;
    --rehearse) rehearse=yes ;;
    --continue|--no-checks|--password-stdin|--allow-root) opts+=("$arg") ;;
    --format|--username|--password-file|--u2-timeout)
      [ $# -gt 0 ] || die "$arg needs a value"
      opts+=("$arg" "$1")
      shift
      ;;
    --format=*|--username=*|--password-file=*|--u2-timeout=*) opts+=("$arg") ;;
    *) u2+=("$arg") ;;
  esac
done

use_systemd() {
  [ -n "$CARBONGUARD_UNIT" ] && [ -d "$SYSTEMD_RUNTIME_DIR" ] && command -v systemctl >/dev/null 2>&1 &&
    systemctl cat -- "$CARBONGUARD_UNIT" >/dev/null 2>&1
}

running=no
if "${as_user[@]}" "$CARBONGUARD_BIN" "${global[@]}" --quiet status >/dev/null 2>&1; then
  running=yes
fi
want_start=no
case $start in
  yes) want_start=yes ;;
  auto) want_start=$running ;;
esac

update=("${as_user[@]}" "$CARBONGUARD_BIN" "${global[@]}" update "${opts[@]}")
# u2's arguments after "--", so that carbonguard never reads them as its own.
u2tail=()
if [ ${#u2[@]} -gt 0 ]; then
  u2tail=(-- "${u2[@]}")
fi

if use_systemd; then
  # The service manager owns the server: stop it there, update with the
  # server down, and let the unit's own start (carbonguard run) judge the
  # first boot, so that the server ends up supervised by systemd either way.
  if [ "$rehearse" = yes ]; then
    # The rehearsal runs while the unit does; it stops after the copy's up
    # verdict, and the update below (--continue) applies what it rehearsed.
    say "rehearsing the update on an isolated copy; systemd unit $CARBONGUARD_UNIT keeps running"
    rc=0
    # Its report goes to stderr: stdout is for the update's own, at its end
    # (one JSON document with --format json).
    "${update[@]}" --rehearse-only "${u2tail[@]}" >&2 || rc=$?
    [ "$rc" -eq 0 ] || exit "$rc"
    state=$("${as_user[@]}" "$CARBONGUARD_BIN" "${global[@]}" history --last | awk 'NR==2 {print $3}')
    [ "$state" = rehearsed ] || exit 0 # nothing to apply: the unit was left alone
    update+=(--continue)
    u2tail=()
  fi
  if systemctl is-active --quiet -- "$CARBONGUARD_UNIT"; then
    say "stopping systemd unit $CARBONGUARD_UNIT for the update"
    systemctl stop -- "$CARBONGUARD_UNIT"
  fi
  rc=0
  "${update[@]}" "${u2tail[@]}" || rc=$?
  if [ "$rc" -ne 0 ] || [ "$want_start" = no ]; then
    if [ "$rc" -ne 0 ] && [ "$running" = yes ]; then
      say "the update did not complete (exit $rc); the pack is as carbonguard left it; start the unit again when ready: systemctl start $CARBONGUARD_UNIT"
    fi
    exit "$rc"
  fi
  say "starting systemd unit $CARBONGUARD_UNIT: its first boot commits the update or rolls it back"
  src=0
  systemctl start -- "$CARBONGUARD_UNIT" || src=$?
  # The unit's exit status is systemd's; the update's outcome is in the
  # journal: the newest transaction's state.
  state=$("${as_user[@]}" "$CARBONGUARD_BIN" "${global[@]}" history --last | awk 'NR==2 {print $3}')
  "${as_user[@]}" "$CARBONGUARD_BIN" "${global[@]}" status >&2 || true
  case $state in
    committed) exit 0 ;;
    rolled-back) say "the first boot after the update failed; the pack was rolled back and the old version runs"; exit 32 ;;
    needs-attention) say "the boot after the rollback failed too; the server is stopped and needs a person"; exit 33 ;;
    *)
      say "systemctl start exited $src; the update transaction is ${state:-unknown}: see carbonguard history and journalctl -u $CARBONGUARD_UNIT"
      [ "$src" -ne 0 ] && exit "$src"
      exit 3
      ;;
  esac
fi

if [ "$rehearse" = yes ]; then
  update+=(--rehearse) # stops and starts again a running server itself, after the copy came up
elif [ "$running" = yes ]; then
  update+=(--stop-server)
fi
if [ "$want_start" = yes ]; then
  update+=(--start)
fi
exec "${update[@]}" "${u2tail[@]}"
