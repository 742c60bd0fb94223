#!/usr/bin/env bash
# Tests the .deb that scripts/release.sh builds the way an operator uses it,
# on this machine: dpkg -i, carbonguard version, man carbonguard (and a
# command's page), bash completion, the packaged /etc/carbonguard/carbonguard.toml,
# then dpkg --purge, after which nothing the package brought is left.
#
# It installs into the real system, so it needs root and refuses to run
# where the carbonguard package is installed already. CI (.ci/run) runs it.
# Environment: NFPM (an nfpm binary; release.sh builds one otherwise),
# KEEP=1 keeps the temporary directory.
set -euo pipefail

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
fail() { echo "FAIL: $*" >&2; exit 1; }
pass=0
ok() { pass=$((pass + 1)); echo "ok $pass - $*"; }

[ "$(id -u)" -eq 0 ] || fail "test-package.sh installs a package: run it as root"
command -v dpkg > /dev/null || fail "dpkg is missing: this test needs a Debian-like system"
command -v man > /dev/null || fail "man is missing (Debian: apt-get install man-db)"
if dpkg -s carbonguard > /dev/null 2>&1; then
  fail "the carbonguard package is installed on this machine; this test would replace and purge it"
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/carbonguard-test-package.XXXXXX")
cleanup() {
  local rc=$?
  if dpkg -s carbonguard > /dev/null 2>&1; then dpkg --purge carbonguard > /dev/null 2>&1 || true; fi
  if [ "${KEEP:-}" = 1 ] || [ "$rc" -ne 0 ]; then echo "test-package: files kept in $T" >&2; else rm -rf -- "$T"; fi
}
trap cleanup EXIT

arch=$(dpkg --print-architecture)
version=0.0.0-pkgtest
(cd "$repo" && scripts/release.sh --version "$version" --out "$T/dist" --platforms "linux/$arch") > "$T/release.log" 2>&1 ||
  { cat "$T/release.log" >&2; fail "scripts/release.sh failed"; }
deb=$(compgen -G "$T/dist/carbonguard_*_$arch.deb") || fail "release.sh built no .deb: $(ls "$T/dist")"
compgen -G "$T/dist/carbonguard-*.rpm" > /dev/null || fail "release.sh built no .rpm: $(ls "$T/dist")"
grep -q "  $(basename "$deb")\$" "$T/dist/SHA256SUMS" || fail "SHA256SUMS does not list $(basename "$deb")"
ok "release.sh builds $(basename "$deb") and an .rpm beside the binary, all in SHA256SUMS"

# What the package holds, and which of those paths the machine has already
# (directories such as /usr/bin): after the purge, only those may remain.
dpkg-deb --fsys-tarfile "$deb" | tar -t | sed -e 's|^\./|/|' -e 's|/$||' | grep -v '^/\?$' | sort -u > "$T/contents"
while read -r p; do
  if [ -e "$p" ] || [ -L "$p" ]; then echo "$p"; fi
done < "$T/contents" > "$T/existing"
for want in /usr/bin/carbonguard /usr/share/man/man1/carbonguard.1.gz /usr/share/man/man1/carbonguard-snapshot-create.1.gz \
  /usr/share/bash-completion/completions/carbonguard /usr/share/zsh/vendor-completions/_carbonguard \
  /etc/carbonguard/carbonguard.toml /usr/share/doc/carbonguard/examples/carbonguard.service /usr/share/doc/carbonguard/copyright \
  /usr/share/carbonguard/install.sh /usr/share/carbonguard/carbonguard-server.sh /usr/share/carbonguard/carbonguard-update.sh; do
  grep -qxF "$want" "$T/contents" || fail "the package lacks $want"
done
ok "the package holds the binary, man pages, bash and zsh completion, the example unit, install.sh and /etc/carbonguard/carbonguard.toml"

# The .rpm is not installed here (no rpm-based system), but its metadata and
# file list are read with rpm itself: the same paths as the .deb (zsh completion
# in site-functions, where rpm-based systems look), the conffile
# marked as one, the same version.
command -v rpm > /dev/null || fail "rpm is missing (Debian: apt-get install rpm; .ci/run installs it)"
rpmf=$(compgen -G "$T/dist/carbonguard-*.rpm" | head -n1)
rpm -qp --queryformat '%{NAME} %{VERSION}\n' "$rpmf" > "$T/rpm.info" 2> "$T/rpm.err" || { cat "$T/rpm.err" >&2; fail "rpm -qp cannot read $rpmf"; }
read -r rname rversion < "$T/rpm.info"
[ "$rname" = carbonguard ] || fail "the .rpm is named $rname"
[ "$rversion" = "${version//-/\~}" ] || fail "the .rpm's version is $rversion, not $version"
rpm -qpl "$rpmf" 2> /dev/null | sort -u > "$T/rpm.contents"
for want in /usr/bin/carbonguard /usr/share/man/man1/carbonguard.1.gz /usr/share/bash-completion/completions/carbonguard \
  /usr/share/zsh/site-functions/_carbonguard /etc/carbonguard/carbonguard.toml /usr/share/carbonguard/install.sh; do
  grep -qxF "$want" "$T/rpm.contents" || fail "the .rpm lacks $want (rpm -qpl: $(tr '\n' ' ' < "$T/rpm.contents"))"
done
rpm -qpc "$rpmf" 2> /dev/null | grep -qxF /etc/carbonguard/carbonguard.toml || fail "the .rpm does not mark /etc/carbonguard/carbonguard.toml as a config file"
ok "the .rpm (rpm -qp, -qpl, -qpc) holds the same files, $version, its carbonguard.toml a config file"

dpkg -i "$deb" > "$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log" >&2; fail "dpkg -i failed"; }
[ "$(carbonguard version)" = "carbonguard $version" ] || fail "carbonguard version printed \"$(carbonguard version)\""
[ "$(command -v carbonguard)" = /usr/bin/carbonguard ] || fail "carbonguard on PATH is $(command -v carbonguard), not /usr/bin/carbonguard"
carbonguard --config /etc/carbonguard/carbonguard.toml version > /dev/null || fail "the packaged carbonguard.toml does not load"
/usr/share/carbonguard/install.sh --help > /dev/null || fail "/usr/share/carbonguard/install.sh --help failed"
ok "dpkg -i; carbonguard version prints $version; the packaged carbonguard.toml loads; install.sh runs"

MANPAGER=cat MANWIDTH=80 man carbonguard > "$T/man.txt" 2> "$T/man.err" || { cat "$T/man.err" >&2; fail "man carbonguard failed"; }
grep -q "carbonguard - safe updates and starts for WSO2 Carbon products" "$T/man.txt" || { cat "$T/man.txt" >&2; fail "man carbonguard: no NAME line"; }
grep -q "GLOBAL OPTIONS" "$T/man.txt" || fail "man carbonguard: no GLOBAL OPTIONS"
MANPAGER=cat MANWIDTH=80 man carbonguard-snapshot-create > "$T/man2.txt" 2>&1 || { cat "$T/man2.txt" >&2; fail "man carbonguard-snapshot-create failed"; }
grep -q -- "--exclude" "$T/man2.txt" || fail "man carbonguard-snapshot-create does not list --exclude"
ok "man carbonguard and man carbonguard-snapshot-create show their pages"

bash -c 'source /usr/share/bash-completion/completions/carbonguard && complete -p carbonguard' > "$T/complete" 2>&1 ||
  { cat "$T/complete" >&2; fail "the bash completion does not load"; }
ok "the bash completion loads: $(cat "$T/complete")"

dpkg --purge carbonguard > "$T/purge.log" 2>&1 || { cat "$T/purge.log" >&2; fail "dpkg --purge failed"; }
! dpkg -s carbonguard > /dev/null 2>&1 || fail "dpkg still knows carbonguard after --purge"
left=()
while read -r p; do
  if { [ -e "$p" ] || [ -L "$p" ]; } && ! grep -qxF "$p" "$T/existing"; then left+=("$p"); fi
done < "$T/contents"
[ ${#left[@]} -eq 0 ] || fail "dpkg --purge left: ${left[*]}"
ok "dpkg --purge leaves nothing the package brought (conffile and /etc/carbonguard included)"

echo "test-package: all $pass passed"
