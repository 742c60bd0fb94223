#!/usr/bin/env bash
# Build carbonguard release binaries: static (CGO_ENABLED=0), reproducible
# paths (-trimpath), stripped, with the version stamped into main.version.
#
#   scripts/release.sh [--version V] [--out DIR] [--platforms "linux/amd64 linux/arm64"]
#
# Output: DIR/carbonguard-V-OS-ARCH for each platform and DIR/SHA256SUMS.
# The binary for this machine's platform is run once to check the stamp.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/release.sh [--version V] [--out DIR] [--platforms "OS/ARCH ..."]

  --version V      version to stamp (default: $VERSION, else `git describe --tags --always --dirty`)
  --out DIR        output directory (default: dist)
  --platforms L    space-separated GOOS/GOARCH list (default: "linux/amd64 linux/arm64",
                   the platforms WSO2 ships wso2update_linux and wso2update_linux_arm64 for)
EOF
}

die() { echo "release: error: $*" >&2; exit 2; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
version=${VERSION:-}
out=dist
platforms="linux/amd64 linux/arm64"

while [ $# -gt 0 ]; do
  case $1 in
    --version) [ $# -ge 2 ] || die "--version needs a value"; version=$2; shift 2 ;;
    --version=*) version=${1#*=}; shift ;;
    --out) [ $# -ge 2 ] || die "--out needs a value"; out=$2; shift 2 ;;
    --out=*) out=${1#*=}; shift ;;
    --platforms) [ $# -ge 2 ] || die "--platforms needs a value"; platforms=$2; shift 2 ;;
    --platforms=*) platforms=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument $1" ;;
  esac
done

command -v go >/dev/null || die "go is not on PATH (Go 1.26: https://go.dev/dl/)"
cd "$root"
if [ -z "$version" ]; then
  version=$(git describe --tags --always --dirty 2>/dev/null || true)
  [ -n "$version" ] || die "no --version given, \$VERSION unset, and git describe found nothing"
fi
# The version ends up in file names and in -X; keep it to what both accept.
[[ $version =~ ^[A-Za-z0-9][A-Za-z0-9._+-]*$ ]] || die "version \"$version\": use letters, digits and . _ + -"

mkdir -p "$out"
host="$(go env GOHOSTOS)/$(go env GOHOSTARCH)"
built=()
for platform in $platforms; do
  goos=${platform%/*} goarch=${platform#*/}
  if [ -z "$goos" ] || [ -z "$goarch" ] || [ "$goos/$goarch" != "$platform" ]; then
    die "platform \"$platform\": use GOOS/GOARCH"
  fi
  name="carbonguard-$version-$goos-$goarch"
  echo "release: building $out/$name" >&2
  tmp="$out/.$name.tmp"
  CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath \
    -ldflags "-s -w -X main.version=$version" -o "$tmp" .
  mv -f "$tmp" "$out/$name"
  built+=("$name")
  if [ "$platform" = "$host" ]; then
    got=$("$out/$name" version)
    [ "$got" = "carbonguard $version" ] || die "$out/$name version printed \"$got\", want \"carbonguard $version\""
    if command -v file >/dev/null && ! file "$out/$name" | grep -q 'statically linked'; then
      die "$out/$name is not statically linked: $(file "$out/$name")"
    fi
  fi
done

(cd "$out" && sha256sum "${built[@]}" > SHA256SUMS.tmp && mv -f SHA256SUMS.tmp SHA256SUMS)
echo "release: $version: ${built[*]} and SHA256SUMS in $out" >&2
