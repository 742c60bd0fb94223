#!/usr/bin/env bash
# Tests scripts/install.sh and the drop-in scripts for real, in a temporary
# root (--prefix, --systemd-dir, --record-dir, --state all inside it), on a
# fixture pack with the fake JDK and the fake u2:
#
#   A. install, install again (nothing to change), a changed install, dry
#      runs (nothing changes), uninstall: the temporary root is byte for byte
#      (and mode for mode) as before, including a replaced binary and a
#      replaced drop-in that were there first;
#   B. the drop-ins against a real (fake) server: start with -D properties,
#      status, a guarded update of a running server (committed), and, with a
#      stand-in systemctl, an update whose first boot fails: exit 32, the
#      old level restored and running; uninstall keeps the state (snapshots).
#
# Environment: CARBONGUARD_BINARY and MKPACK (prebuilt binaries; built here
# otherwise), KEEP=1 keeps the temporary directory.
set -euo pipefail

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
T=$(mktemp -d "${TMPDIR:-/tmp}/carbonguard-test-install.XXXXXX")
pass=0

cleanup() {
  local rc=$?
  if [ -n "${H:-}" ] && [ -x "${CG:-}" ]; then
    "$CG" --home "$H" --state "${S:-$T/none}" --quiet stop >/dev/null 2>&1 || true
  fi
  if [ "${KEEP:-}" = 1 ] || [ "$rc" -ne 0 ]; then
    echo "test-install: files kept in $T" >&2
  else
    rm -rf -- "$T"
  fi
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { pass=$((pass + 1)); echo "ok $pass - $*"; }
contains() { grep -qF -- "$2" "$1" || { echo "--- $1:" >&2; cat -- "$1" >&2; fail "$1 lacks: $2"; }; }
lacks() { if grep -qF -- "$2" "$1"; then cat -- "$1" >&2; fail "$1 has: $2"; fi; }

# manifest DIR: every path with its type, mode, size, link target and content hash.
manifest() {
  (cd -- "$1" && find . -printf '%p %y %m %s %l\n' | LC_ALL=C sort &&
    find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2)
}

# expect RC CMD...: run CMD with output in $T/out, and check its exit status.
expect() {
  local want=$1 rc=0
  shift
  "$@" > "$T/out" 2>&1 || rc=$?
  if [ "$rc" -ne "$want" ]; then
    cat -- "$T/out" >&2
    fail "exit status $rc, want $want: $*"
  fi
}

# ------------------------------------------------------------------ setup

mkdir -p "$T/build"
CG=${CARBONGUARD_BINARY:-}
if [ -z "$CG" ]; then
  (cd "$repo" && go build -o "$T/build/carbonguard" .)
  CG=$T/build/carbonguard
fi
MKPACK=${MKPACK:-}
if [ -z "$MKPACK" ]; then
  (cd "$repo" && go build -o "$T/build/mkpack" ./internal/mkpack)
  MKPACK=$T/build/mkpack
fi

R=$T/root # the machine: everything install touches is below it
mkdir -p "$R/etc" "$R/usr/bin" "$R/packs"
"$MKPACK" -u2 broken-boot "$R/packs/node" > /dev/null
# shellcheck source=/dev/null
. "$R/packs/node/pack.env"
H=$PACK_HOME
S=$R/var/lib/carbonguard/node
U=$(id -un)
printf 'an older carbonguard\n' > "$R/usr/bin/carbonguard"
chmod 0755 "$R/usr/bin/carbonguard"
printf '#!/bin/sh\n# the operator'"'"'s own wrapper\nexec ./api-manager.sh "$@"\n' > "$H/bin/carbonguard-server.sh"
chmod 0750 "$H/bin/carbonguard-server.sh"

install=("$repo/scripts/install.sh" --binary "$CG" --prefix "$R/usr" --record-dir "$R/etc/carbonguard"
  --systemd-dir "$R/etc/systemd/system" --home "$H" --user "$U" --state "$S" --java-home "$PACK_JAVA_HOME")
unit=$R/etc/systemd/system/carbonguard-apim-4.2.service

# ------------------------------------------------- A. install and uninstall

# scripts/systemd/carbonguard.service is install.sh --print-unit for a pack at
# /opt/wso2am-4.2.0 run by wso2carbon; UPDATE_EXAMPLE=1 rewrites it.
example_hash=$(printf '%s' /opt/wso2am-4.2.0 | sha256sum | cut -c1-12)
# The server's user is an unprivileged one there (nobody stands in for wso2carbon).
"${install[@]}" --user nobody --unit carbonguard-wso2am-4.2.0.service --print-unit |
  sed -e "s|$H|/opt/wso2am-4.2.0|g" -e "s|$(dirname -- "$H")|/opt|g" -e "s|$S|/var/lib/carbonguard/wso2am-4.2.0-$example_hash|g" \
    -e "s|$PACK_JAVA_HOME|/usr/lib/jvm/temurin-17-jdk|g" -e "s|$R/usr/|/usr/local/|g" \
    -e "s|^User=nobody\$|User=wso2carbon|" -e "s|^Group=.*|Group=wso2carbon|" > "$T/example.service"
if [ "${UPDATE_EXAMPLE:-}" = 1 ]; then
  mkdir -p "$repo/scripts/systemd"
  cp "$T/example.service" "$repo/scripts/systemd/carbonguard.service"
fi
diff -u "$repo/scripts/systemd/carbonguard.service" "$T/example.service" ||
  fail "scripts/systemd/carbonguard.service is not what install.sh writes; UPDATE_EXAMPLE=1 scripts/test-install.sh rewrites it"
ok "install.sh --print-unit matches the example unit scripts/systemd/carbonguard.service"

manifest "$R" > "$T/before"

expect 0 "${install[@]}"
contains "$T/out" "created $R/usr/share/bash-completion/completions/carbonguard"
contains "$T/out" "replaced $R/usr/bin/carbonguard (original kept in"
contains "$T/out" "replaced $H/bin/carbonguard-server.sh (original kept in"
contains "$T/out" "created $H/bin/carbonguard-update.sh"
contains "$T/out" "created $H/carbonguard.toml"
contains "$T/out" "created $unit"
contains "$T/out" "systemctl enable --now carbonguard-apim-4.2.service"
cmp -s "$CG" "$R/usr/bin/carbonguard" || fail "installed binary differs from $CG"
[ "$(stat -c %a "$R/usr/bin/carbonguard")" = 755 ] || fail "binary mode is not 755"
"$CG" completion bash | cmp -s - "$R/usr/share/bash-completion/completions/carbonguard" || fail "completion differs"
ok "install creates and replaces what it should"

contains "$unit" "Type=notify"
contains "$unit" "NotifyAccess=main"
contains "$unit" "User=$U"
contains "$unit" "Environment=JAVA_HOME=$PACK_JAVA_HOME"
contains "$unit" "ExecStart=$R/usr/bin/carbonguard --home $H --state $S --log-format json run"
contains "$unit" "ExecStop=$R/usr/bin/carbonguard --home $H --state $S --log-format json stop --stop-timeout 120s"
contains "$unit" "Restart=on-failure"
contains "$unit" "RestartPreventExitStatus=1 2 6 33"
contains "$unit" "SuccessExitStatus=143"
contains "$unit" "KillMode=mixed"
contains "$unit" "TimeoutStartSec=1640" # 2 x (600 + 10) + 120 + 300: the built-in timeouts
contains "$unit" "TimeoutStopSec=150"
ok "the unit is Type=notify, runs carbonguard run as $U, timeouts from carbonguard's"

contains "$unit" "LimitNOFILE=65535"
contains "$unit" "UMask=0027"
contains "$unit" "NoNewPrivileges=yes"
contains "$unit" "PrivateTmp=yes"
contains "$unit" "ProtectSystem=full"
contains "$unit" "ReadWritePaths=$(dirname -- "$H") $S" # the pack's parent: a rollback renames the pack
contains "$unit" "ProtectHome=yes"
lacks "$unit" "MemoryDenyWriteExecute=" # the JIT compiler needs writable executable memory
# Part of the installation below /home: ProtectHome=tmpfs with just those paths.
"${install[@]}" --java-home /home/carbonguard-test/jdk --print-unit > "$T/home.service" 2> /dev/null
contains "$T/home.service" "ProtectHome=tmpfs"
contains "$T/home.service" "BindReadOnlyPaths=/home/carbonguard-test/jdk"
lacks "$T/home.service" "ProtectHome=yes"
ok "the unit sets LimitNOFILE and a sandbox: the pack's parent and the state writable, home hidden"

# systemd-analyze: the unit install.sh wrote must verify cleanly, and its
# exposure must stay at or below 5.0 (--threshold is in tenths). It works
# offline, without systemd running as PID 1.
if command -v systemd-analyze > /dev/null; then
  systemd-analyze verify "$unit" > "$T/verify" 2>&1 || { cat "$T/verify" >&2; fail "systemd-analyze verify $unit failed"; }
  [ ! -s "$T/verify" ] || { cat "$T/verify" >&2; fail "systemd-analyze verify $unit has warnings"; }
  for u in "$unit" "$repo/scripts/systemd/carbonguard.service" "$T/home.service"; do
    systemd-analyze security --offline=yes --threshold=50 "$u" > "$T/security" 2>&1 ||
      { cat "$T/security" >&2; fail "systemd-analyze security: $u is above an exposure of 5.0"; }
    exposure=$(sed -n 's/^→ Overall exposure level for .*: \([0-9.]*\) .*/\1/p' "$T/security")
    [ -n "$exposure" ] || { cat "$T/security" >&2; fail "no exposure level in systemd-analyze security's output"; }
    echo "systemd-analyze security --offline=yes $(basename -- "$u"): exposure $exposure"
  done
  ok "systemd-analyze verify is clean; security --offline=yes rates the units at or below 5.0"
elif [ -n "${CI:-}" ]; then
  fail "systemd-analyze is missing (Debian: apt-get install systemd); CI must rate the unit"
else
  echo "skip: systemd-analyze is not installed (Debian: apt-get install systemd)"
  pass=$((pass + 1))
fi

for s in carbonguard-server.sh carbonguard-update.sh; do
  [ -x "$H/bin/$s" ] || fail "$H/bin/$s is not executable"
  contains "$H/bin/$s" "CARBONGUARD_BIN=\${CARBONGUARD_BIN:-$R/usr/bin/carbonguard}"
  contains "$H/bin/$s" "CARBONGUARD_STATE=\${CARBONGUARD_STATE:-$S}"
  contains "$H/bin/$s" "CARBONGUARD_UNIT=\${CARBONGUARD_UNIT:-carbonguard-apim-4.2.service}"
  contains "$H/bin/$s" "CARBONGUARD_USER=\${CARBONGUARD_USER:-$U}"
  bash -n "$H/bin/$s" || fail "$H/bin/$s does not parse"
done
"$CG" --config "$H/carbonguard.toml" version > /dev/null || fail "the written carbonguard.toml does not load"
contains "$H/carbonguard.toml" "java_home = \"$PACK_JAVA_HOME\""
if [ ! -d "$S" ] || [ "$(stat -c %U "$S")" != "$U" ]; then fail "state directory $S missing or not owned by $U"; fi
ok "drop-ins carry the installed settings; carbonguard.toml loads; state directory owned by $U"

manifest "$R" > "$T/installed"
expect 0 "${install[@]}"
contains "$T/out" "nothing to change: everything is already installed"
lacks "$T/out" "created"
manifest "$R" > "$T/again"
diff -u "$T/installed" "$T/again" > /dev/null || fail "a second install changed files: $(diff -u "$T/installed" "$T/again")"
ok "installing again changes nothing and says so"

expect 0 "${install[@]}" --boot-timeout 90s --dry-run
contains "$T/out" "would update $unit"
contains "$T/out" "dry run: 1 change(s) would be made"
manifest "$R" | diff -q - "$T/installed" > /dev/null || fail "--dry-run changed files"
expect 0 "${install[@]}" --boot-timeout 90s
contains "$T/out" "updated $unit"
contains "$unit" "TimeoutStartSec=620" # 2 x (90 + 10) + 120 + 300
expect 0 "${install[@]}" --boot-timeout 90s
contains "$T/out" "nothing to change"
ok "a changed setting updates the unit (dry run first: nothing changed), then nothing to change"

manifest "$R" > "$T/installed"
expect 0 "${install[@]}" --uninstall --dry-run
contains "$T/out" "would restore $R/usr/bin/carbonguard"
contains "$T/out" "would remove $unit"
manifest "$R" | diff -q - "$T/installed" > /dev/null || fail "--uninstall --dry-run changed files"
expect 0 "${install[@]}" --uninstall
contains "$T/out" "restored $H/bin/carbonguard-server.sh"
contains "$T/out" "removed $unit"
contains "$T/out" "uninstalled"
manifest "$R" > "$T/after"
diff -u "$T/before" "$T/after" > "$T/diff" || { cat "$T/diff" >&2; fail "uninstall did not restore the root"; }
expect 0 "${install[@]}" --uninstall
contains "$T/out" "nothing to uninstall"
ok "uninstall restores everything byte for byte and mode for mode; a second uninstall has nothing to do"

expect 2 "$repo/scripts/install.sh" --binary "$CG" --prefix "$R/usr" --record-dir "$R/etc/carbonguard" --home "$R/packs" --user "$U"
contains "$T/out" "--home $R/packs:"
expect 2 "$repo/scripts/install.sh" --binary "$CG" --prefix "$R/usr" --record-dir "$R/etc/carbonguard" --home "$H" --user "$U" --state "$H/state"
contains "$T/out" "is inside the pack"
expect 2 "$repo/scripts/install.sh" --bogus
contains "$T/out" 'unknown argument "--bogus"'
expect 2 "$repo/scripts/install.sh" --binary "$CG" --prefix "$R/us r"
contains "$T/out" "whitespace"
manifest "$R" | diff -q - "$T/before" > /dev/null || fail "a refused install changed files"
ok "bad input is refused with exit 2 and changes nothing"

# --------------------------------------------- B. the drop-ins, for real

export JAVA_HOME=$PACK_JAVA_HOME HOME=$PACK_USER_HOME FAKE_U2_SERVER=$PACK_U2_SERVER
export UPDATE_TOOL_USERNAME=test@example.com UPDATE_TOOL_PASSWORD=test
allow_root=false
[ "$(id -u)" -ne 0 ] || allow_root=true
# The pack's own configuration this time: install keeps it.
cat > "$H/carbonguard.toml" <<EOF
[start]
stability = "1s"
allow_root = $allow_root
gate = false
EOF
cp -p "$H/carbonguard.toml" "$T/config.orig"
manifest "$R/usr" > "$T/usr.before"

expect 0 "${install[@]}" --no-systemd
contains "$T/out" "kept $H/carbonguard.toml (the pack's own; not written)"
contains "$H/bin/carbonguard-server.sh" "CARBONGUARD_UNIT=\${CARBONGUARD_UNIT:-}"
[ ! -e "$unit" ] || fail "--no-systemd installed a unit"
ok "--no-systemd: no unit; the pack's own carbonguard.toml kept"

expect 0 "$H/bin/carbonguard-server.sh" version
contains "$T/out" "WSO2 API Manager"
contains "$T/out" "carbonguard "
expect 0 "$H/bin/carbonguard-server.sh" --start -Dcarbonguard.test=yes -Dbare.flag
contains "$T/out" "boot verdict: UP"
inv=$H/repository/logs/fakejvm-invocation.json
contains "$inv" '"carbonguard.test": "yes"'
contains "$inv" '"bare.flag": "true"'
contains "$inv" '"httpclient.hostnameVerifier": "Strict"'
expect 0 "$H/bin/carbonguard-server.sh" status
contains "$T/out" "running: pid"
expect 2 "$H/bin/carbonguard-server.sh" --debug 5005
contains "$T/out" "use the stock script"
ok "carbonguard-server.sh: -start with -D properties (bare -Dkey is true), status, --debug refused"

expect 0 "$H/bin/carbonguard-update.sh" --level 13
contains "$T/out" "update committed"
grep -q '"update-level": 13' "$H/updates/config.json" || fail "not at level 13 after the update"
expect 0 "$H/bin/carbonguard-server.sh" status
ok "carbonguard-update.sh on a running server: stopped, updated to 13, started, committed, running"

# A stand-in systemctl: Type=notify's start blocks until the verdict, so a
# carbonguard start is what "systemctl start" amounts to for this test.
mkdir -p "$T/stub" "$T/run-systemd"
cat > "$T/stub/systemctl" <<EOF
#!/usr/bin/env bash
echo "systemctl \$*" >> "$T/systemctl.log"
verb=\$1; unit=\${*: -1}
[ "\$unit" = carbonguard-apim-4.2.service ] || exit 5
cg=("$CG" --home "$H" --state "$S" --quiet)
case \$verb in
  cat) exit 0 ;;
  is-active) "\${cg[@]}" status > /dev/null 2>&1 ;;
  stop) "\${cg[@]}" stop > /dev/null ;;
  start) "\${cg[@]}" start > /dev/null 2>&1 || exit 1 ;;
  *) exit 1 ;;
esac
EOF
chmod +x "$T/stub/systemctl"
export CARBONGUARD_SYSTEMD_RUNTIME_DIR=$T/run-systemd CARBONGUARD_UNIT=carbonguard-apim-4.2.service
export PATH=$T/stub:$PATH
expect 32 "$H/bin/carbonguard-update.sh"
contains "$T/out" "stopping systemd unit carbonguard-apim-4.2.service for the update"
contains "$T/out" "the first boot after the update failed; the pack was rolled back and the old version runs"
contains "$T/systemctl.log" "systemctl stop -- carbonguard-apim-4.2.service"
contains "$T/systemctl.log" "systemctl start -- carbonguard-apim-4.2.service"
grep -q '"update-level": 13' "$H/updates/config.json" || fail "not back at level 13 after the rollback"
expect 0 "$CG" --home "$H" --state "$S" status
if [ "$(id -u)" -eq 0 ]; then # the rehearsal's copy boots in a network namespace: root only
  # --rehearse through the unit: the same boot-breaking level is rehearsed on
  # an isolated copy while the unit runs; it never comes down (exit 35).
  : > "$T/systemctl.log"
  before=$(cat "$H/wso2carbon.pid")
  expect 35 "$H/bin/carbonguard-update.sh" --rehearse
  contains "$T/out" "rehearsing the update on an isolated copy; systemd unit carbonguard-apim-4.2.service keeps running"
  contains "$T/out" "the live pack was never touched"
  ! grep -q "systemctl stop" "$T/systemctl.log" || fail "the rehearsal stopped the unit"
  [ "$(cat "$H/wso2carbon.pid")" = "$before" ] || fail "the live server changed during the rehearsal"
  expect 0 "$CG" --home "$H" --state "$S" status
  ok "under systemd (stand-in), --rehearse: the broken level fails on the copy, exit 35; the unit was never stopped"
fi
expect 0 "$H/bin/carbonguard-server.sh" stop
contains "$T/systemctl.log" "systemctl stop -- carbonguard-apim-4.2.service"
expect 5 "$CG" --home "$H" --state "$S" status
expect 3 "$H/bin/carbonguard-server.sh" status # LSB: 3 = not running
expect 4 "$H/bin/carbonguard-server.sh" status --no-such-flag # LSB: 4 = unknown
unset CARBONGUARD_UNIT
ok "under systemd (stand-in): update stops the unit, its first boot fails, exit 32, level 13 restored and running; stop via systemctl; status is LSB's 3"

expect 0 "${install[@]}" --uninstall
contains "$T/out" "kept $S: carbonguard's state (snapshots, journal) is never deleted"
cmp -s "$H/carbonguard.toml" "$T/config.orig" || fail "uninstall touched the pack's own carbonguard.toml"
[ "$(cat "$H/bin/carbonguard-server.sh")" = "$(printf '#!/bin/sh\n# the operator'"'"'s own wrapper\nexec ./api-manager.sh "$@"')" ] ||
  fail "the operator's carbonguard-server.sh was not restored"
[ "$(stat -c %a "$H/bin/carbonguard-server.sh")" = 750 ] || fail "the operator's carbonguard-server.sh lost its mode"
[ ! -e "$H/bin/carbonguard-update.sh" ] || fail "carbonguard-update.sh left behind"
manifest "$R/usr" | diff -u "$T/usr.before" - || fail "uninstall did not restore $R/usr"
[ ! -e "$R/etc/carbonguard" ] || fail "the record directory was left behind"
compgen -G "$S/snapshots/*-pre-update" > /dev/null || fail "snapshots are gone"
ok "uninstall after use: drop-ins and binary restored, the pack's config and the snapshots kept"

echo "test-install: all $pass passed"
