#!/usr/bin/env bash
# The fleet drill playbook (drill.yml) for real: Debian's ansible against two
# packs on this machine (local connection, fake JDK, servers really running on
# 127.0.0.1), each with a verified snapshot:
#
#   node1's live server runs; its drill passes (level booted, an RTO reported)
#   and the live server is the same process afterwards, still answering;
#   node2's snapshot holds a bundle that breaks the boot: its drill fails
#   (exit 12), the play fails for node2 only, and the record keeps the
#   evidence.
#
# As root the copies boot in network namespaces of their own; as another user
# the test passes --network namespace-or-host (the copies then share the host's
# network at free offsets). The timer tasks are skipped (no systemd here); the
# units they write are the example units, checked by systemd-analyze in
# scripts_test.go.
#
# Run by .ci/run when present. Needs Go and ansible-playbook (Debian:
# apt-get install ansible). KEEP=1 keeps the temporary directory.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd -- "$here/../.." && pwd -P)
t0=$SECONDS
T=$(mktemp -d "${TMPDIR:-/tmp}/carbonguard-drill.XXXXXX")
nodes=(node1 node2)

fail() { echo "drill-test: FAIL: $*" >&2; exit 1; }
say() { echo "drill-test: [$((SECONDS - t0))s] $*"; }

declare -A home
cleanup() {
  local rc=$? n
  for n in "${nodes[@]}"; do
    if [ -n "${home[$n]:-}" ] && [ -x "$T/bin/carbonguard" ]; then
      "$T/bin/carbonguard" --home "${home[$n]}" --state "$T/$n/state" --quiet stop >/dev/null 2>&1 || true
    fi
  done
  if [ "${KEEP:-}" = 1 ] || [ "$rc" -ne 0 ]; then
    echo "drill-test: files kept in $T" >&2
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

say "laying out two packs"
"$T/bin/mkpack" -fixture apim-4.2 "$T/node1" "$T/node2" > /dev/null
allow_root=false
network='[]'
if [ "$(id -u)" -eq 0 ]; then
  allow_root=true
else
  network='["--network", "namespace-or-host"]'
fi
for n in "${nodes[@]}"; do
  # shellcheck source=/dev/null
  . "$T/$n/pack.env"
  home[$n]=$PACK_HOME
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

# node2's pack gets a bundle that fails the configuration at start-up (the
# fake server reads META-INF/fake-carbon.properties in plugin jars).
python3 - "${home[node2]}/repository/components/plugins/org.wso2.fake.broken_1.0.0.jar" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("META-INF/fake-carbon.properties", "behaviour=fail-config\n")
EOF

for n in "${nodes[@]}"; do
  cg "$n" --quiet snapshot create --verify > "$T/$n/snapshot.out" 2>&1 ||
    { cat "$T/$n/snapshot.out" >&2; fail "$n: snapshot create"; }
done
cg node1 --quiet start --force --force-reason "drill test: stock settings" > "$T/node1/start.out" 2>&1 ||
  { cat "$T/node1/start.out" >&2; fail "node1 did not start"; }
pid_before=$(cat "${home[node1]}/wso2carbon.pid")
say "node1 up (pid $pid_before); node2 stopped"

cat > "$T/inventory.yml" <<EOF
all:
  children:
    wso2:
      hosts:
        node1:
          ansible_connection: local
          ansible_python_interpreter: "{{ ansible_playbook_python }}"
          carbon_home: "${home[node1]}"
          carbonguard_state: "$T/node1/state"
        node2:
          ansible_connection: local
          ansible_python_interpreter: "{{ ansible_playbook_python }}"
          carbon_home: "${home[node2]}"
          carbonguard_state: "$T/node2/state"
EOF

export ANSIBLE_LOCAL_TEMP=$T/ansible-tmp ANSIBLE_REMOTE_TEMP=$T/ansible-tmp ANSIBLE_NOCOLOR=1
export ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_RETRY_FILES_ENABLED=false ANSIBLE_DEPRECATION_WARNINGS=false
say "drill.yml: a drill now on node1 and node2"
rc=0
ansible-playbook -i "$T/inventory.yml" "$here/drill.yml" -e carbonguard_bin="$CG" \
  -e carbonguard_drill_now=true -e carbonguard_drill_timer=false -e "{\"carbonguard_drill_args\": $network}" \
  > "$T/play.log" 2>&1 || rc=$?
grep -E '^(PLAY|TASK|fatal|ok|changed|failed|skipping)|"msg"|PLAY RECAP|node[12] +:' "$T/play.log" | sed 's/^/    | /'

[ "$rc" -ne 0 ] || { cat "$T/play.log" >&2; fail "the playbook succeeded; node2's drill must fail it"; }
grep -Eq 'node1: drill [0-9]{8}T[0-9]{6}Z of snapshot [^ ]+: exit 0, passed; level booted; RTO [0-9.]+s' "$T/play.log" ||
  { cat "$T/play.log" >&2; fail "node1's drill did not pass with an RTO"; }
grep -q 'node2: drill .*exit 12, FAILED' "$T/play.log" || { cat "$T/play.log" >&2; fail "node2's drill did not fail with exit 12"; }
grep -Eq 'node1 +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0' "$T/play.log" || fail "node1 failed in the recap"
grep -Eq 'node2 +: .*failed=1' "$T/play.log" || fail "node2 did not fail in the recap"

[ "$(cat "${home[node1]}/wso2carbon.pid")" = "$pid_before" ] || fail "node1's live server changed (pid $pid_before -> $(cat "${home[node1]}/wso2carbon.pid"))"
cg node1 --quiet status > "$T/node1/status.out" || { cat "$T/node1/status.out" >&2; fail "node1's live server is not running after the drill"; }
grep -q 'last drill .* passed' "$T/node1/status.out" || fail "node1's status does not show the passed drill"
ls "$T"/node2/state/drills/*/evidence/wso2carbon.log > /dev/null 2>&1 || fail "node2's drill kept no evidence"
grep -q 'Error while performing configuration changes' "$T"/node2/state/drills/*/evidence/wso2carbon.log ||
  fail "node2's evidence does not show the failure"
rto=$(sed -n 's/.*node1: .*RTO \([0-9.]*s\).*/\1/p' "$T/play.log" | head -n 1)
say "ok: node1 passed (RTO $rto, live server pid $pid_before untouched), node2 failed with exit 12 and its evidence kept"
