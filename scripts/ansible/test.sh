#!/usr/bin/env bash
# The fleet rollout (rollout.yml) for real: Debian's ansible against three
# packs on this machine (local connection, each its own port offset, fake JDK
# and fake u2, servers really running on 127.0.0.1):
#
#   (a) a clean update to level 13: node1, node2, node3 updated in turn (one
#       transaction finished before the next began), all committed and up;
#   (b) level 14, whose boot breaks on node2 (node2's update server ships a
#       jar that fails the configuration at start-up): node1 committed at 14,
#       node2 rolled back to 13 and running, node3 untouched (same server
#       process, still 13, no new transaction), and the playbook failed;
#   (b2) as root, the same level 14 rehearsed (carbonguard_rehearse=true): node1
#       has nothing to apply (same server process), node2's copy does not boot
#       and node2 is halted with exit 35 without ever going down (same server
#       process, still 13), node3 untouched;
#   (c) after fixing node2's update: scripts/install.sh puts the drop-ins on
#       all three (one shared binary), and level 15 goes through
#       bin/carbonguard-update.sh (carbonguard_update_via=dropin, the path for
#       systemd units), rehearsed when root: all committed at 15, with the
#       rehearsal's figures (its time, u2's, the live outage) in the play's
#       output; then each install is undone, the
#       shared binary only with the last.
#
# Run by .ci/run when present. Needs Go and ansible-playbook (Debian:
# apt-get install ansible). KEEP=1 keeps the temporary directory.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd -- "$here/../.." && pwd -P)
t0=$SECONDS
T=$(mktemp -d "${TMPDIR:-/tmp}/carbonguard-ansible.XXXXXX")
nodes=(node1 node2 node3)

fail() { echo "ansible-test: FAIL: $*" >&2; exit 1; }
say() { echo "ansible-test: [$((SECONDS - t0))s] $*"; }

cleanup() {
  local rc=$? n
  for n in "${nodes[@]}"; do
    if [ -f "$T/$n/pack.env" ] && [ -x "$T/bin/carbonguard" ]; then
      home=$(sed -n "s/^PACK_HOME='\(.*\)'$/\1/p" "$T/$n/pack.env")
      "$T/bin/carbonguard" --home "$home" --state "$T/$n/state" --quiet stop >/dev/null 2>&1 || true
    fi
  done
  if [ "${KEEP:-}" = 1 ] || [ "$rc" -ne 0 ]; then
    echo "ansible-test: files kept in $T" >&2
  else
    rm -rf -- "$T"
  fi
}
trap cleanup EXIT

command -v ansible-playbook >/dev/null || fail "ansible-playbook not found (Debian: apt-get install ansible)"
command -v go >/dev/null || fail "go not found"

say "building carbonguard and mkpack"
mkdir -p "$T/bin"
go -C "$repo" build -o "$T/bin/" . ./internal/mkpack
CG=$T/bin/carbonguard

# Update servers: node1 and node3 get a clean level 14; node2's level 14
# carries a jar whose marker fails the boot (testdata/u2/broken-boot).
mkdir -p "$T/u2"
cp -r "$repo/testdata/u2/clean" "$T/u2/good"
for l in 14 15; do
  mkdir -p "$T/u2/good/wso2am-4.2.0/$l"
  cat > "$T/u2/good/wso2am-4.2.0/$l/update.toml" <<EOF
description = "Security fixes for the gateway ($l)"

[[jar]]
path = "repository/components/dropins/org.wso2.carbon.apimgt.fix_9.28.116.$l.jar"
[jar.entries]
"META-INF/MANIFEST.MF" = "Manifest-Version: 1.0\\nBundle-SymbolicName: org.wso2.carbon.apimgt.fix\\nBundle-Version: 9.28.116.$l\\n"
EOF
done

say "laying out three packs (one mkpack run: port ranges that do not overlap)"
"$T/bin/mkpack" -fixture apim-4.2 -u2 clean "$T/node1" "$T/node2" "$T/node3" > /dev/null
declare -A home offset userhome
a_result=()
allow_root=false
[ "$(id -u)" -ne 0 ] || allow_root=true
for n in "${nodes[@]}"; do
  # shellcheck source=/dev/null
  . "$T/$n/pack.env"
  home[$n]=$PACK_HOME offset[$n]=$PACK_OFFSET userhome[$n]=$PACK_USER_HOME
  cat > "$PACK_HOME/carbonguard.toml" <<EOF
# Test timings; a real pack keeps the defaults (timeout 10m, stability 10s).
[start]
java_home = "$PACK_JAVA_HOME"
timeout = "60s"
stability = "1s"
allow_root = $allow_root
EOF
done

cg() { local n=$1; shift; "$CG" --home "${home[$n]}" --state "$T/$n/state" "$@"; }
level() { sed -n 's/.*"update-level": *\([0-9]*\).*/\1/p' "${home[$1]}/updates/config.json"; }
pid() { cat "${home[$1]}/wso2carbon.pid" 2>/dev/null || echo -; }
running() { cg "$1" --quiet status >/dev/null 2>&1; }
# txs NODE: the node's transactions as "id state created updated" lines, oldest first.
txs() {
  cg "$1" --quiet history --format json | awk '
    /^      "id": /      { gsub(/[",]/, "", $2); id = $2 }
    /^      "state": /   { gsub(/[",]/, "", $2); st = $2 }
    /^      "created": / { gsub(/[",]/, "", $2); cr = $2 }
    /^      "updated": / { gsub(/[",]/, "", $2); print id, st, cr, $2 }'
}

for n in "${nodes[@]}"; do
  cg "$n" --quiet start --force --force-reason "fleet test: stock settings" > "$T/$n/start.out" 2> "$T/$n/start.err" ||
    { cat "$T/$n/start.out" "$T/$n/start.err" >&2; fail "$n did not start"; }
  say "$n up: $(head -n 1 "$T/$n/start.out") (offset ${offset[$n]}, level $(level "$n"))"
done

# inventory SERVER1 SERVER2 SERVER3: each node's fake update server.
inventory() {
  local i=0 n
  echo "all:"
  echo "  children:"
  echo "    wso2:"
  echo "      hosts:"
  for n in "${nodes[@]}"; do
    i=$((i + 1))
    cat <<EOF
        $n:
          ansible_connection: local
          ansible_python_interpreter: "{{ ansible_playbook_python }}"
          carbon_home: "${home[$n]}"
          carbonguard_state: "$T/$n/state"
          carbonguard_environment:
            HOME: "${userhome[$n]}"
            FAKE_U2_SERVER: "${!i}"
            UPDATE_TOOL_USERNAME: "fleet@example.com"
            UPDATE_TOOL_PASSWORD: "not-a-real-secret"
EOF
  done
}

export ANSIBLE_LOCAL_TEMP=$T/ansible-tmp ANSIBLE_REMOTE_TEMP=$T/ansible-tmp ANSIBLE_NOCOLOR=1
export ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_RETRY_FILES_ENABLED=false ANSIBLE_DEPRECATION_WARNINGS=false
playbook() { # playbook NAME U2ARGS_JSON [ARGS...]: run rollout.yml, output in $T/NAME.log, exit status in $rc
  local name=$1 u2args=$2
  shift 2
  rc=0
  ansible-playbook -i "$T/inventory.yml" "$here/rollout.yml" \
    -e carbonguard_bin="$CG" -e "{\"carbonguard_u2_args\": $u2args}" "$@" > "$T/$name.log" 2>&1 || rc=$?
  grep -E '^(PLAY|TASK|fatal|ok|changed|failed|skipping)|"msg"|PLAY RECAP|node[123] +:' "$T/$name.log" | sed 's/^/    | /'
}

# ---------------------------------------------------------- (a) clean rollout

inventory "$T/u2/good" "$T/u2/good" "$T/u2/good" > "$T/inventory.yml"
say "(a) rolling level 13 through node1, node2, node3"
playbook a '["--level", "13"]'
[ "$rc" -eq 0 ] || { cat "$T/a.log" >&2; fail "(a) the playbook failed (exit $rc)"; }
prev_end=""
for n in "${nodes[@]}"; do
  [ "$(level "$n")" = 13 ] || fail "(a) $n is at level $(level "$n"), want 13"
  running "$n" || fail "(a) $n is not running"
  read -r _ st created updated < <(txs "$n" | tail -n 1)
  [ "$st" = committed ] || fail "(a) $n's update is $st, want committed"
  if [ -n "$prev_end" ] && [[ ! "$created" > "$prev_end" ]]; then
    fail "(a) $n's update began ($created) before the previous node's ended ($prev_end): not one at a time"
  fi
  prev_end=$updated
  a_result[${#a_result[@]}]="$n committed 12->13 $created $updated $(pid "$n")"
done

# --------------------------------------- (b) level 14 breaks the boot on node2

declare -A pid_before txcount_before
for n in "${nodes[@]}"; do
  pid_before[$n]=$(pid "$n")
  txcount_before[$n]=$(txs "$n" | wc -l)
done
inventory "$T/u2/good" "$repo/testdata/u2/broken-boot" "$T/u2/good" > "$T/inventory.yml"
say "(b) rolling level 14 (broken on node2) through node1, node2, node3"
playbook b '["--level", "14"]'
[ "$rc" -ne 0 ] || { cat "$T/b.log" >&2; fail "(b) the playbook succeeded; it must fail at node2"; }
grep -q "rollout halted at node2 (carbonguard exit 32" "$T/b.log" || { cat "$T/b.log" >&2; fail "(b) no halt at node2 with exit 32"; }

[ "$(level node1)" = 14 ] || fail "(b) node1 is at level $(level node1), want 14"
running node1 || fail "(b) node1 is not running"
[ "$(txs node1 | tail -n 1 | cut -d' ' -f2)" = committed ] || fail "(b) node1's update is not committed"

[ "$(level node2)" = 13 ] || fail "(b) node2 is at level $(level node2), want 13 (rolled back)"
running node2 || fail "(b) node2 is not running after the rollback"
[ "$(txs node2 | tail -n 1 | cut -d' ' -f2)" = rolled-back ] || fail "(b) node2's update is not rolled-back"
failed_dir=$(find "$T/node2/state/failed" -mindepth 1 -maxdepth 1 -type d | head -n 1)
[ -d "$failed_dir/logs" ] || fail "(b) node2's failed boot evidence (state/failed/<tx>/logs) is missing"

[ "$(level node3)" = 13 ] || fail "(b) node3 is at level $(level node3), want 13 (untouched)"
running node3 || fail "(b) node3 is not running"
[ "$(pid node3)" = "${pid_before[node3]}" ] || fail "(b) node3's server was restarted (pid ${pid_before[node3]} -> $(pid node3))"
[ "$(txs node3 | wc -l)" = "${txcount_before[node3]}" ] || fail "(b) node3 has a new transaction"
read -r _ _ b1_cr b1_up < <(txs node1 | tail -n 1)
read -r _ _ b2_cr b2_up < <(txs node2 | tail -n 1)

# ------------------------------- (b2) level 14 rehearsed: node2 never goes down

rehearse=false
if [ "$(id -u)" -eq 0 ]; then
  rehearse=true
elif [ -n "${CI:-}" ]; then
  fail "CI must run this as root: the rehearsal's copy boots in a network namespace"
fi
if [ "$rehearse" = true ]; then
  for n in "${nodes[@]}"; do
    pid_before[$n]=$(pid "$n")
    txcount_before[$n]=$(txs "$n" | wc -l)
  done
  inventory "$T/u2/good" "$repo/testdata/u2/broken-boot" "$T/u2/good" > "$T/inventory.yml"
  say "(b2) rolling level 14 again, rehearsed (broken on node2)"
  playbook b2 '["--level", "14"]' -e carbonguard_rehearse=true
  [ "$rc" -ne 0 ] || { cat "$T/b2.log" >&2; fail "(b2) the playbook succeeded; it must fail at node2"; }
  grep -q "rollout halted at node2 (carbonguard exit 35" "$T/b2.log" || { cat "$T/b2.log" >&2; fail "(b2) no halt at node2 with exit 35"; }
  [ "$(pid node1)" = "${pid_before[node1]}" ] || fail "(b2) node1 (already at 14) was restarted"
  [ "$(txs node1 | tail -n 1 | cut -d' ' -f2)" = committed ] || fail "(b2) node1's rehearsal is not committed (nothing to apply)"
  [ "$(level node2)" = 13 ] || fail "(b2) node2 is at level $(level node2), want 13"
  [ "$(pid node2)" = "${pid_before[node2]}" ] || fail "(b2) node2's server was restarted (pid ${pid_before[node2]} -> $(pid node2)): the rehearsal must not touch it"
  running node2 || fail "(b2) node2 is not running"
  [ "$(txs node2 | tail -n 1 | cut -d' ' -f2)" = rehearsal-failed ] || fail "(b2) node2's update is not rehearsal-failed"
  [ "$(pid node3)" = "${pid_before[node3]}" ] || fail "(b2) node3's server was restarted"
  [ "$(txs node3 | wc -l)" = "${txcount_before[node3]}" ] || fail "(b2) node3 has a new transaction"
else
  say "(b2) skipped: not root (the rehearsal's copy boots in a network namespace)"
fi

# ------------------ (c) the drop-ins from install.sh, as for systemd units

say "(c) install.sh on the three nodes (one shared binary), then level 15 through bin/carbonguard-update.sh"
for n in "${nodes[@]}"; do
  "$repo/scripts/install.sh" --binary "$CG" --prefix "$T/usr" --record-dir "$T/etc/carbonguard" --no-systemd \
    --home "${home[$n]}" --user "$(id -un)" --state "$T/$n/state" > "$T/$n/install.out" 2>&1 ||
    { cat "$T/$n/install.out" >&2; fail "(c) install.sh on $n failed"; }
done
inventory "$T/u2/good" "$T/u2/good" "$T/u2/good" > "$T/inventory.yml"
playbook c '["--level", "15"]' -e carbonguard_update_via=dropin -e carbonguard_rehearse="$rehearse" -v
[ "$rc" -eq 0 ] || { cat "$T/c.log" >&2; fail "(c) the playbook failed (exit $rc)"; }
grep -q "bin/carbonguard-update.sh" "$T/c.log" || fail "(c) the drop-in was not used"
if [ "$rehearse" = true ]; then
  grep -q "rehearsal .*live outage [0-9.]*s" "$T/c.log" || { cat "$T/c.log" >&2; fail "(c) no rehearsal figures in the play's output"; }
fi
for n in "${nodes[@]}"; do
  [ "$(level "$n")" = 15 ] || fail "(c) $n is at level $(level "$n"), want 15"
  running "$n" || fail "(c) $n is not running"
  [ "$(txs "$n" | tail -n 1 | cut -d' ' -f2)" = committed ] || fail "(c) $n's update is not committed"
done
for n in "${nodes[@]}"; do
  "$repo/scripts/install.sh" --prefix "$T/usr" --record-dir "$T/etc/carbonguard" --home "${home[$n]}" --uninstall \
    > "$T/$n/uninstall.out" 2>&1 || { cat "$T/$n/uninstall.out" >&2; fail "(c) uninstall on $n failed"; }
  [ ! -e "${home[$n]}/bin/carbonguard-update.sh" ] || fail "(c) uninstall left $n's drop-in"
  if [ "$n" != node3 ]; then
    grep -q "kept the binary in $T/usr: still used" "$T/$n/uninstall.out" || fail "(c) uninstalling $n did not keep the shared binary"
    [ -x "$T/usr/bin/carbonguard" ] || fail "(c) the shared binary went with $n"
  fi
done
[ ! -e "$T/usr/bin/carbonguard" ] || fail "(c) the binary outlived the last install"
[ ! -e "$T/etc/carbonguard" ] || fail "(c) the record directory outlived the last install"

# --------------------------------------------------------------------- summary

echo
echo "ROLLOUT SUMMARY"
printf '  %-22s %-6s %-12s %-7s %-8s %s\n' ROLLOUT NODE RESULT LEVEL RUNNING "UPDATE (began -> ended)"
for r in "${a_result[@]}"; do
  read -r n st lv cr up _ <<< "$r"
  printf '  %-22s %-6s %-12s %-7s %-8s %s -> %s\n' "(a) clean, level 13" "$n" "$st" "$lv" yes "${cr:11:12}" "${up:11:12}"
done
printf '  %-22s %-6s %-12s %-7s %-8s %s -> %s\n' "(b) level 14" node1 committed "13->14" yes "${b1_cr:11:12}" "${b1_up:11:12}"
printf '  %-22s %-6s %-12s %-7s %-8s %s -> %s  (first boot failed; old version restored and up)\n' "" node2 rolled-back "13" yes "${b2_cr:11:12}" "${b2_up:11:12}"
printf '  %-22s %-6s %-12s %-7s %-8s %s\n' "" node3 untouched 13 yes "same server process (pid ${pid_before[node3]}), no transaction"
if [ "$rehearse" = true ]; then
  printf '  %-22s %-6s %-12s %-7s %-8s %s\n' "(b2) 14, rehearsed" node1 committed 14 yes "nothing to apply; same server process"
  printf '  %-22s %-6s %-16s %-3s %-8s %s\n' "" node2 rehearsal-failed 13 yes "the copy did not boot up (exit 35); same server process, never stopped"
  printf '  %-22s %-6s %-12s %-7s %-8s %s\n' "" node3 untouched 13 yes "same server process, no transaction"
fi
for n in "${nodes[@]}"; do
  read -r _ st cr up < <(txs "$n" | tail -n 1)
  printf '  %-22s %-6s %-12s %-7s %-8s %s -> %s\n' "(c) level 15, drop-in" "$n" "$st" "->15" yes "${cr:11:12}" "${up:11:12}"
done
if [ "$rehearse" = true ]; then
  grep -o 'node[123]: rehearsal [^"]*' "$T/c.log" | sed 's/^/  (c) rehearsed: /'
fi
printf '  playbook (b) failed: "%s"\n' "$(grep -o 'rollout halted at node2[^;]*' "$T/b.log" | head -n 1)"
echo
say "passed in $((SECONDS - t0))s"
