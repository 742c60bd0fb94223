#!/usr/bin/env bash
# Build carbonguard release binaries: static (CGO_ENABLED=0), reproducible
# paths (-trimpath), stripped, with the version stamped into main.version;
# and, for each Linux platform, .deb and .rpm packages (nfpm, configured in
# packaging/nfpm.yaml) with the binary, the man pages (docs/man), bash and zsh
# completion, the example systemd unit and /etc/carbonguard/carbonguard.toml.
#
#   scripts/release.sh [--version V] [--out DIR] [--platforms "linux/amd64 linux/arm64"] [--no-packages]
#
# Output: DIR/carbonguard-V-OS-ARCH for each platform, the packages
# (carbonguard_V_ARCH.deb, carbonguard-V-1.ARCH.rpm) and DIR/SHA256SUMS.
# The binary for this machine's platform is run once to check the stamp.
# nfpm: $NFPM, else nfpm on PATH, else built once with go install (pinned).
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/release.sh [--version V] [--out DIR] [--platforms "OS/ARCH ..."] [--no-packages]

  --version V      version to stamp (default: $VERSION, else `git describe --tags --always --dirty`)
  --out DIR        output directory (default: dist)
  --platforms L    space-separated GOOS/GOARCH list (default: "linux/amd64 linux/arm64",
                   the platforms WSO2 ships wso2update_linux and wso2update_linux_arm64 for)
  --no-packages    binaries and SHA256SUMS only, no .deb/.rpm
EOF
}

die() { echo "release: error: $*" >&2; exit 2; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
version=${VERSION:-}
out=dist
platforms="linux/amd64 linux/arm64"
packages=yes
nfpm_version=v2.48.0

while [ $# -gt 0 ]; do
  case $1 in
    --version) [ $# -ge 2 ] || die "--version needs a value"; version=$2; shift 2 ;;
    --version=*) version=${1#*=}; shift ;;
    --out) [ $# -ge 2 ] || die "--out needs a value"; out=$2; shift 2 ;;
    --out=*) out=${1#*=}; shift ;;
    --platforms) [ $# -ge 2 ] || die "--platforms needs a value"; platforms=$2; shift 2 ;;
    --platforms=*) platforms=${1#*=}; shift ;;
    --no-packages) packages=no; shift ;;
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

# ------------------------------------------------------------- packages

# find_nfpm: $NFPM, nfpm on PATH, or one built from the pinned version into
# the user's cache (a few minutes the first time, then reused).
find_nfpm() {
  if [ -n "${NFPM:-}" ]; then
    printf '%s\n' "$NFPM"
    return
  fi
  if command -v nfpm > /dev/null; then
    command -v nfpm
    return
  fi
  local dir=${XDG_CACHE_HOME:-$HOME/.cache}/carbonguard/nfpm-$nfpm_version
  if [ ! -x "$dir/nfpm" ]; then
    echo "release: building nfpm $nfpm_version into $dir (once)" >&2
    GOBIN=$dir GOFLAGS=-buildvcs=false go install "github.com/goreleaser/nfpm/v2/cmd/nfpm@$nfpm_version" ||
      die "could not build nfpm $nfpm_version; set NFPM to an nfpm binary or pass --no-packages"
  fi
  printf '%s\n' "$dir/nfpm"
}

# Package versions must be semantic versions (rpm has no "-" in a version):
# a git describe without a tag becomes 0.0.0-dev.<describe>.
pkg_version=${version#v}
if ! [[ $pkg_version =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]]; then
  pkg_version=0.0.0-dev.${version//[^0-9A-Za-z.]/.}
fi

if [ "$packages" = yes ]; then
  nfpm=$(find_nfpm)
  stage_root=$(mktemp -d "$out/.stage.XXXXXX")
  trap 'rm -rf -- "$stage_root"' EXIT
  # Man pages and completion scripts are the same for every platform; a
  # binary for this machine writes the completions.
  host_bin=$stage_root/carbonguard-host
  CGO_ENABLED=0 go build -trimpath -ldflags "-X main.version=$version" -o "$host_bin" .
  mkdir -p "$stage_root/common/man"
  "$host_bin" completion bash > "$stage_root/common/completion.bash"
  "$host_bin" completion zsh > "$stage_root/common/completion.zsh"
  compgen -G "docs/man/*.1" > /dev/null || die "no man pages in docs/man (go test -run TestManPages . -update-man)"
  cp docs/man/*.1 "$stage_root/common/man/"
  gzip -9n "$stage_root"/common/man/*.1
  for name in "${built[@]}"; do
    goos=${name%-*} goos=${goos##*-} goarch=${name##*-}
    [ "$goos" = linux ] || continue
    stage=$stage_root/$goarch
    cp -R "$stage_root/common" "$stage"
    cp "$out/$name" "$stage/carbonguard"
    for packager in deb rpm; do
      echo "release: packaging $packager for linux/$goarch" >&2
      CG_PKG_VERSION=$pkg_version CG_PKG_ARCH=$goarch CG_PKG_STAGE=$stage \
        "$nfpm" package --config packaging/nfpm.yaml --packager "$packager" --target "$stage/" > /dev/null
      for f in "$stage"/*."$packager"; do
        mv -f "$f" "$out/"
        built+=("$(basename "$f")")
      done
    done
  done
fi

(cd "$out" && sha256sum "${built[@]}" > SHA256SUMS.tmp && mv -f SHA256SUMS.tmp SHA256SUMS)
echo "release: $version: ${built[*]} and SHA256SUMS in $out" >&2
