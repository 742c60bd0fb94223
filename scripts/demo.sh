#!/usr/bin/env bash
# The carbonguard story on a sandbox pack, with real processes and real output:
#
#   1. build carbonguard and the fakes (a fake Carbon "JVM" and a fake u2)
#   2. lay out a sandbox API Manager 4.2 pack at update level 12
#   3. carbonguard check      production findings (stock passwords, H2, TLSv1...)
#   4. carbonguard start      refused by the check gate, then forced: boot verdict UP
#   5. carbonguard update --start
#                             an update (levels 13 and 14) whose jar breaks the boot:
#                             snapshot, u2, first boot FAILED, automatic rollback, exit 32
#   6. carbonguard status / history
#                             the old level (12) is back and running; the failed boot's
#                             evidence is kept
#
#   scripts/demo.sh [--dir DIR] [--cleanup]
#
# The sandbox goes to a new temporary directory (or --dir, which must be new
# or empty) and is left running at the end, with the commands to look around,
# stop it and remove it; --cleanup stops the server and removes the sandbox on
# exit instead. Needs Go 1.26 and bash; nothing is installed.
set -euo pipefail

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
dir=""
cleanup=no
while [ $# -gt 0 ]; do
  case $1 in
    --dir) [ $# -ge 2 ] || { echo "demo: --dir needs a value" >&2; exit 2; }; dir=$2; shift 2 ;;
    --dir=*) dir=${1#*=}; shift ;;
    --cleanup) cleanup=yes; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument \"$1\" (try --help)" >&2; exit 2 ;;
  esac
done

if [ -t 1 ]; then bold=$'\e[1m' dim=$'\e[2m' red=$'\e[31m' green=$'\e[32m' off=$'\e[0m'; else bold="" dim="" red="" green="" off=""; fi
t0=$SECONDS
section() { printf '\n%s== %s%s %s(%ds)%s\n' "$bold" "$*" "$off" "$dim" "$((SECONDS - t0))" "$off"; }
note() { printf '%s%s%s\n' "$dim" "$*" "$off"; }
die() { printf '%sdemo: %s%s\n' "$red" "$*" "$off" >&2; exit 1; }

# run WANT CMD...: show the command, run it, and insist on the exit status
# the story expects (a demo that silently goes off-script is worse than none).
run() {
  local want=$1 rc=0
  shift
  printf '%s$ %s%s\n' "$bold" "$*" "$off"
  "$@" || rc=$?
  if [ "$rc" -eq "$want" ]; then
    printf '%s[exit %d, as expected]%s\n' "$green" "$rc" "$off"
  else
    die "\"$*\" exited $rc; the story expects exit $want here"
  fi
}

command -v go >/dev/null || die "Go is required (https://go.dev/dl/); then run scripts/demo.sh again"

if [ -z "$dir" ]; then
  dir=$(mktemp -d "${TMPDIR:-/tmp}/carbonguard-demo.XXXXXX")
else
  mkdir -p -- "$dir"
  [ -z "$(ls -A -- "$dir")" ] || die "--dir $dir is not empty"
  dir=$(cd -- "$dir" && pwd -P)
fi

finish() {
  local rc=$?
  if [ "$cleanup" = yes ]; then
    if [ -x "$dir/bin/carbonguard" ] && [ -n "${CARBON_HOME:-}" ]; then
      "$dir/bin/carbonguard" --quiet stop >/dev/null 2>&1 || true
    fi
    rm -rf -- "$dir"
    note "demo: stopped the server and removed $dir (--cleanup)"
  elif [ "$rc" -ne 0 ] && [ -n "${CARBON_HOME:-}" ]; then
    note "demo: the sandbox is in $dir; stop its server with: CARBON_HOME=$CARBON_HOME CARBONGUARD_STATE_DIR=$dir/state $dir/bin/carbonguard stop"
  fi
}
trap finish EXIT

section "1. Build carbonguard and the fakes"
mkdir -p "$dir/bin" "$dir/tmp"
note "(on a cold Go cache this compiles about 300 packages (the standard library included): around 2 minutes on a 2-core machine; later runs take seconds)"
# go build -v names each package as it compiles it: show the count, so that a
# cold first run says what it is doing instead of sitting silent.
build() {
  local n=0 pkg last=""
  printf '%s$ go build -o %s/bin/ . ./internal/mkpack%s\n' "$bold" "$dir" "$off"
  while IFS= read -r pkg; do
    n=$((n + 1)) last=$pkg
    if [ -t 1 ]; then printf '\r%s  compiling: %d packages so far (%s)\033[K%s' "$dim" "$n" "$pkg" "$off"; fi
  done < <(go -C "$repo" build -v -o "$dir/bin/" . ./internal/mkpack 2>&1; echo "exit=$?")
  if [ -t 1 ]; then printf '\r\033[K'; fi
  [ "$last" = exit=0 ] || die "go build failed ($last); run it by hand: go -C $repo build ."
  if [ "$n" -le 1 ]; then
    printf '%s[built: everything came from the Go build cache]%s\n' "$green" "$off"
  else
    printf '%s[built: %d packages compiled]%s\n' "$green" "$((n - 1))" "$off"
  fi
}
build
for b in carbonguard mkpack; do
  [ -x "$dir/bin/$b" ] || die "go build did not produce $dir/bin/$b"
done

section "2. A sandbox API Manager 4.2 pack"
# mkpack copies testdata/packs/apim-4.2, installs the fake JDK (bin/java is
# fakejvm: real log lines, real ports on 127.0.0.1, health endpoints) and the
# fake u2 (bin/wso2update_linux), and picks a free port offset.
# The fakes are built into the sandbox's own tmp/, so that --cleanup (or
# rm -rf of the sandbox) removes them with everything else.
note "building the fake JVM and the fake u2 (cold: some seconds more)"
TMPDIR=$dir/tmp "$dir/bin/mkpack" -fixture apim-4.2 -u2 broken-boot -delay 1s "$dir/sandbox" >/dev/null
set -a
# shellcheck source=/dev/null
. "$dir/sandbox/pack.env"
set +a
export PATH="$dir/bin:$PATH"
export CARBON_HOME=$PACK_HOME                  # carbonguard's --home
export CARBONGUARD_STATE_DIR=$dir/state        # snapshots, journal, verdicts: outside the pack
export HOME=$PACK_USER_HOME                    # u2 keeps ~/.wso2-updates there
export FAKE_U2_SERVER=$PACK_U2_SERVER          # the fake u2's update server: level 13 is fine, 14 breaks the boot
# Credentials for the fake u2 (it only wants some); carbonguard masks the password in all output.
export UPDATE_TOOL_USERNAME=operator@example.com UPDATE_TOOL_PASSWORD=not-a-real-secret
allow_root=""
if [ "$(id -u)" -eq 0 ]; then
  allow_root='allow_root = true           # this demo runs as root; a real server runs as its own user'
fi
cat > "$CARBON_HOME/carbonguard.toml" <<EOF
# The demo's carbonguard.toml. A real pack keeps the default timings (timeout 10m, stability 10s).
[start]
java_home = "$PACK_JAVA_HOME"
timeout = "60s"
stability = "2s"
$allow_root
EOF
note "pack:    $CARBON_HOME (port offset $PACK_OFFSET: https on 127.0.0.1:$((9443 + PACK_OFFSET)))"
note "state:   $CARBONGUARD_STATE_DIR"
note "config:  $CARBON_HOME/carbonguard.toml"
run 0 carbonguard pack
run 0 grep '"update-level"' "$CARBON_HOME/updates/config.json"

section "3. carbonguard check: what a production checklist would flag"
run 1 carbonguard check --fail-on high

section "4. carbonguard start: the checks are a gate; then a supervised start with a boot verdict"
run 1 carbonguard --log-level error start
run 0 carbonguard --log-format console start --force --force-reason "demo sandbox: stock settings on purpose"

section "5. carbonguard update --start: an update that breaks the boot"
note "u2 will apply levels 13 and 14; 14 ships a bundle that fails the configuration at start-up."
note "carbonguard stops the server, snapshots and verifies the pack, runs u2, starts, judges the boot,"
note "and rolls back to the snapshot when the first boot fails."
run 32 carbonguard --log-format console update --stop-server --start

section "6. After the rollback: the old version runs"
run 0 carbonguard status
run 0 carbonguard history
run 0 grep '"update-level"' "$CARBON_HOME/updates/config.json"
failed=$(find "$CARBONGUARD_STATE_DIR" -mindepth 3 -maxdepth 3 -path '*/failed/*' -type d | head -n 1)
[ -n "$failed" ] || die "no failed-boot evidence directory under $CARBONGUARD_STATE_DIR"
note "the failed boot's logs, verdict and diff, kept for the support ticket: $failed"
run 0 ls "$failed"
grep -q '"update-level": 12' "$CARBON_HOME/updates/config.json" || die "the pack is not back at update level 12"
carbonguard --quiet status >/dev/null || die "the server is not running after the rollback"

section "Done: rolled back to update level 12, server up"
if [ "$cleanup" = no ]; then
  cat <<EOF
The server is still running. To look around, stop it, and remove the sandbox:

  export PATH=$dir/bin:\$PATH CARBON_HOME=$CARBON_HOME CARBONGUARD_STATE_DIR=$CARBONGUARD_STATE_DIR
  carbonguard status; carbonguard snapshot list; carbonguard history --format json
  carbonguard stop && rm -rf $dir
EOF
fi
