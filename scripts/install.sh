#!/usr/bin/env bash
# install.sh: put carbonguard on a machine and, for a pack, the drop-in
# scripts and a systemd unit. Idempotent; --uninstall restores everything it
# changed, byte for byte. See usage() for the flags.
#
# What it changes, and records in <record-dir>/install-<key>.tsv (originals
# of replaced files in install-<key>.d/):
#   <prefix>/bin/carbonguard                               the binary
#   <prefix>/share/bash-completion/completions/carbonguard bash completion
#   <home>/bin/carbonguard-server.sh                       drop-in for the stock startup script
#   <home>/bin/carbonguard-update.sh                       guarded u2 run
#   <home>/carbonguard.toml                                only when there is none
#   <systemd-dir>/<unit>                                   Type=notify unit running "carbonguard run"
#   <state>                                                carbonguard's state directory, owned by --user
# The binary and completion are recorded once per prefix (install-bin-<hash>),
# the rest once per pack (install-<pack>-<hash>); uninstalling the last pack
# of a prefix also uninstalls the binary. Uninstall never deletes the pack,
# its snapshots or a state directory that holds anything, and keeps a file
# that was edited after install (carbonguard.toml in place, others beside
# their path as <file>.modified-<time>).
set -euo pipefail
umask 022

prog=install
say() { echo "$prog: $*"; }
warn() { echo "$prog: warning: $*" >&2; }
die() { echo "$prog: error: $*" >&2; exit 2; }
fail() { echo "$prog: error: $*" >&2; exit 3; }

usage() {
  cat <<'EOF'
usage: scripts/install.sh [--home PRODUCT_HOME [pack options]] [options]
       scripts/install.sh --uninstall [--home PRODUCT_HOME] [options]

Installs the carbonguard binary and bash completion under --prefix and, with --home, the pack's
drop-in scripts (bin/carbonguard-server.sh, bin/carbonguard-update.sh), a carbonguard.toml when
the pack has none, carbonguard's state directory, and a systemd unit. Running it again changes
nothing and says so; --uninstall restores everything it changed.

options:
  --binary PATH        the carbonguard binary to install (default: $CARBONGUARD_BINARY, else
                       ./carbonguard or the newest dist/carbonguard-*-linux-<arch> of this checkout)
  --prefix DIR         install root for bin/ and share/ (default: /usr/local)
  --record-dir DIR     where install records and originals are kept (default: /etc/carbonguard)
  --dry-run            print what would change; change nothing
  --uninstall          restore what the install for --home (or, without it, the binary) changed
  --force              uninstall even while the unit is active
  -h, --help

pack options (with --home):
  --user USER          the user the server runs as (default: the owner of PRODUCT_HOME; never root
                       unless named)
  --state DIR          carbonguard's state directory (default: /var/lib/carbonguard/<pack>-<hash>,
                       the path carbonguard itself uses when run as root)
  --java-home DIR      JAVA_HOME for the server (default: $JAVA_HOME)
  --unit NAME          systemd unit name (default: carbonguard-<pack>.service)
  --systemd-dir DIR    where the unit goes (default: /etc/systemd/system)
  --no-systemd         no unit; the drop-in scripts call carbonguard directly
  --boot-timeout DUR   the boot timeout the unit's TimeoutStartSec is computed from (default:
                       [start] timeout of the pack's carbonguard.toml, else 10m)
  --print-unit         print the unit for these settings and change nothing (for units kept in
                       your own configuration management; scripts/systemd/carbonguard.service
                       is this output for /opt/wso2am-4.2.0 run by wso2carbon)

The unit is installed, not enabled: systemctl enable --now <unit>. When systemd runs (PID 1),
install and uninstall run systemctl daemon-reload after changing a unit.
EOF
}

# ---------------------------------------------------------------- arguments

script_dir=$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")" && pwd -P)
repo_dir=$(dirname -- "$script_dir")

binary=${CARBONGUARD_BINARY:-}
prefix=/usr/local
record_dir=/etc/carbonguard
home=""
user=""
state=""
java_home=${JAVA_HOME:-}
unit=""
systemd_dir=/etc/systemd/system
systemd=yes
boot_timeout=""
dry_run=no
uninstall=no
force=no
print_unit=no

need() { [ "$2" -ge 2 ] || die "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case $1 in
    --binary) need "$1" $#; binary=$2; shift 2 ;;
    --prefix) need "$1" $#; prefix=$2; shift 2 ;;
    --record-dir) need "$1" $#; record_dir=$2; shift 2 ;;
    --home) need "$1" $#; home=$2; shift 2 ;;
    --user) need "$1" $#; user=$2; shift 2 ;;
    --state) need "$1" $#; state=$2; shift 2 ;;
    --java-home) need "$1" $#; java_home=$2; shift 2 ;;
    --unit) need "$1" $#; unit=$2; shift 2 ;;
    --systemd-dir) need "$1" $#; systemd_dir=$2; shift 2 ;;
    --boot-timeout) need "$1" $#; boot_timeout=$2; shift 2 ;;
    --binary=*|--prefix=*|--record-dir=*|--home=*|--user=*|--state=*|--java-home=*|--unit=*|--systemd-dir=*|--boot-timeout=*)
      set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
    --no-systemd) systemd=no; shift ;;
    --print-unit) print_unit=yes; shift ;;
    --dry-run) dry_run=yes; shift ;;
    --uninstall) uninstall=yes; shift ;;
    --force) force=yes; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument \"$1\"" ;;
  esac
done

# Paths end up in systemd's ExecStart= and in shell assignments: refuse what
# either would read differently (whitespace, quotes, \, $, %, `).
check_path() {
  local what=$1 p=$2
  case $p in
    /*) ;;
    *) die "$what \"$p\" must be an absolute path" ;;
  esac
  if [[ $p =~ [[:space:]\'\"\\\$%\`] ]]; then
    die "$what \"$p\": whitespace, quotes, \\, \$, % and \` are not supported in paths"
  fi
}

abspath() { # absolute path without requiring it to exist
  case $1 in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$PWD" "$1" ;;
  esac
}

prefix=$(abspath "$prefix"); check_path --prefix "$prefix"
record_dir=$(abspath "$record_dir"); check_path --record-dir "$record_dir"
systemd_dir=$(abspath "$systemd_dir"); check_path --systemd-dir "$systemd_dir"

bin_path=$prefix/bin/carbonguard
completion_path=$prefix/share/bash-completion/completions/carbonguard

hash12() { printf '%s' "$1" | sha256sum | cut -c1-12; }

systemd_running() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

# ------------------------------------------------------------ durable writes

fsync() { sync -- "$@" 2>/dev/null || sync; }

# write_atomic SRC DEST MODE: copy SRC over DEST through a temp file in
# DEST's directory (fsync, rename, fsync the directory).
write_atomic() {
  local src=$1 dest=$2 mode=$3 dir tmp
  dir=$(dirname -- "$dest")
  tmp=$(mktemp -- "$dir/.carbonguard-install.XXXXXX")
  cat -- "$src" > "$tmp"
  chmod "$mode" -- "$tmp"
  fsync "$tmp"
  mv -f -- "$tmp" "$dest"
  fsync "$dir"
}

# restore_atomic BACKUP DEST: put the original back with its mode, owner and times.
restore_atomic() {
  local backup=$1 dest=$2 dir tmp
  dir=$(dirname -- "$dest")
  mkdir -p -- "$dir"
  tmp=$(mktemp -- "$dir/.carbonguard-install.XXXXXX")
  cp -p -- "$backup" "$tmp"
  fsync "$tmp"
  mv -f -- "$tmp" "$dest"
  fsync "$dir"
}

sha_of() { sha256sum -- "$1" | cut -d' ' -f1; }
mode_of() { stat -c %a -- "$1"; }

# ------------------------------------------------------------------ records
#
# A record is a TSV file, one change a line, written before the change is
# made (so a crash leaves a record that uninstall can act on):
#   meta  <key>  <value>
#   dir   <path>  created
#   file  <path>  created|replaced|config  <backup or ->  <sha256 of what was installed>

declare -A rec_kind rec_backup rec_sha meta
rec_order=()
rec_file=""
rec_dir_d=""

record_load() { # record_load KEY
  rec_file=$record_dir/install-$1.tsv
  rec_dir_d=$record_dir/install-$1.d
  rec_kind=() rec_backup=() rec_sha=() meta=() rec_order=()
  [ -f "$rec_file" ] || return 0
  local type path kind backup sha
  while IFS=$'\t' read -r type path kind backup sha; do
    case $type in
      meta) meta[$path]=$kind ;;
      dir|file)
        rec_order+=("$path")
        rec_kind[$path]=$type:$kind
        rec_backup[$path]=$backup
        rec_sha[$path]=$sha
        ;;
      ''|'#'*) ;;
      *) fail "$rec_file: unknown line type \"$type\"" ;;
    esac
  done < "$rec_file"
}

record_save() {
  [ "$dry_run" = no ] || return 0
  mkdir -p -- "$record_dir"
  local tmp k p
  tmp=$(mktemp -- "$record_dir/.install-record.XXXXXX")
  {
    echo "# carbonguard install record, written by scripts/install.sh; --uninstall reads it"
    for k in $(printf '%s\n' "${!meta[@]}" | sort); do
      printf 'meta\t%s\t%s\n' "$k" "${meta[$k]}"
    done
    for p in "${rec_order[@]}"; do
      printf '%s\t%s\t%s\t%s\t%s\n' "${rec_kind[$p]%%:*}" "$p" "${rec_kind[$p]#*:}" "${rec_backup[$p]:--}" "${rec_sha[$p]:--}"
    done
  } > "$tmp"
  chmod 0644 -- "$tmp"
  fsync "$tmp"
  mv -f -- "$tmp" "$rec_file"
  fsync "$record_dir"
}

record_set() { # record_set TYPE PATH KIND BACKUP SHA
  local p=$2
  if [ -z "${rec_kind[$p]+x}" ]; then
    rec_order+=("$p")
  fi
  rec_kind[$p]=$1:$3
  rec_backup[$p]=$4
  rec_sha[$p]=$5
  record_save
}

# -------------------------------------------------------------- installing

changed=0
unchanged=0

# ensure_dir DIR [OWNER]: create DIR and its missing parents, recording each.
ensure_dir() {
  local dir=$1 owner=${2:-} missing=() d=$1
  while [ ! -d "$d" ]; do
    missing=("$d" "${missing[@]}")
    d=$(dirname -- "$d")
  done
  for d in "${missing[@]}"; do
    if [ "$dry_run" = yes ]; then
      say "would create directory $d"
    else
      record_set dir "$d" created - -
      mkdir -- "$d"
      say "created directory $d"
    fi
    changed=$((changed + 1))
  done
  if [ -n "$owner" ] && [ "$dry_run" = no ] && [ "$(id -u)" -eq 0 ] && [ ${#missing[@]} -gt 0 ]; then
    chown -- "$owner:$(id -gn -- "$owner")" "$dir"
    chmod 0750 -- "$dir"
  fi
}

# put_file SRC DEST MODE [config]: make DEST hold SRC's bytes with MODE.
# "config" files are written only when absent and never rewritten.
put_file() {
  local src=$1 dest=$2 mode=$3 class=${4:-file} want sha backup n
  want=$(sha_of "$src")
  if [ -e "$dest" ] || [ -L "$dest" ]; then
    [ -f "$dest" ] || fail "$dest exists and is not a regular file; move it away first"
    if [ "$class" = config ] && [ -z "${rec_kind[$dest]+x}" ]; then
      say "kept $dest (the pack's own; not written)"
      unchanged=$((unchanged + 1))
      return 0
    fi
    if [ "$(sha_of "$dest")" = "$want" ] && [ "$(mode_of "$dest")" = "$mode" ]; then
      say "unchanged $dest"
      unchanged=$((unchanged + 1))
      return 0
    fi
    if [ "$class" = config ]; then
      say "kept $dest (edited since it was installed)"
      unchanged=$((unchanged + 1))
      return 0
    fi
    if [ -n "${rec_kind[$dest]+x}" ]; then
      # Ours already (created or replaced earlier): the original stays recorded.
      if [ "$dry_run" = yes ]; then say "would update $dest"; changed=$((changed + 1)); return 0; fi
      write_atomic "$src" "$dest" "$mode"
      record_set file "$dest" "${rec_kind[$dest]#*:}" "${rec_backup[$dest]}" "$want"
      say "updated $dest"
    else
      if [ "$dry_run" = yes ]; then say "would replace $dest (keeping the original for --uninstall)"; changed=$((changed + 1)); return 0; fi
      mkdir -p -- "$rec_dir_d"
      n=$(printf '%s\n' "${rec_order[@]}" | grep -c . || true)
      backup=$rec_dir_d/$n-$(basename -- "$dest")
      cp -p -- "$dest" "$backup"
      fsync "$backup" "$rec_dir_d"
      record_set file "$dest" replaced "$backup" "$want"
      write_atomic "$src" "$dest" "$mode"
      say "replaced $dest (original kept in $backup)"
    fi
  else
    if [ "$dry_run" = yes ]; then say "would create $dest"; changed=$((changed + 1)); return 0; fi
    local kind=created
    [ "$class" = config ] && kind=config
    record_set file "$dest" "$kind" - "$want"
    write_atomic "$src" "$dest" "$mode"
    say "created $dest"
  fi
  changed=$((changed + 1))
}

# Files of the pack take the owner of the directory they go into, so that the
# pack stays owned as it was.
own_like_dir() {
  [ "$dry_run" = no ] && [ "$(id -u)" -eq 0 ] || return 0
  chown --reference="$(dirname -- "$1")" -- "$1"
}

# writable FLAG PATH: PATH, or the nearest directory above it that exists,
# must be writable, so that a run as the wrong user stops before changing anything.
writable() {
  local d=$2
  while [ ! -e "$d" ]; do d=$(dirname -- "$d"); done
  [ -w "$d" ] || die "$1 $2: $d is not writable by $(id -un); run install.sh as root (sudo), or choose another $1"
}

find_binary() {
  if [ -n "$binary" ]; then
    printf '%s\n' "$binary"
    return
  fi
  if [ -x "$repo_dir/carbonguard" ] && [ -f "$repo_dir/carbonguard" ]; then
    printf '%s\n' "$repo_dir/carbonguard"
    return
  fi
  local arch newest
  case $(uname -m) in
    x86_64) arch=amd64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) arch=$(uname -m) ;;
  esac
  newest=$(find "$repo_dir/dist" -maxdepth 1 -type f -name "carbonguard-*-linux-$arch" -printf '%T@ %p\n' 2>/dev/null |
    sort -rn | head -n 1 | cut -d' ' -f2- || true)
  if [ -n "$newest" ]; then
    printf '%s\n' "$newest"
    return
  fi
  die "no carbonguard binary: give --binary PATH, or build one (scripts/release.sh, or go build -o carbonguard .)"
}

# seconds DURATION: Go/carbonguard durations (90s, 10m, 1h30m, 7d, 1500ms) in whole seconds, rounded up.
seconds() {
  local d=$1 total_ms=0 n unit
  [[ $d =~ ^([0-9]+(ms|d|h|m|s))+$ ]] || return 1
  while [[ $d =~ ^([0-9]+)(ms|d|h|m|s)(.*)$ ]]; do
    n=$((10#${BASH_REMATCH[1]})) unit=${BASH_REMATCH[2]} d=${BASH_REMATCH[3]}
    case $unit in
      ms) total_ms=$((total_ms + n)) ;;
      s) total_ms=$((total_ms + n * 1000)) ;;
      m) total_ms=$((total_ms + n * 60000)) ;;
      h) total_ms=$((total_ms + n * 3600000)) ;;
      d) total_ms=$((total_ms + n * 86400000)) ;;
    esac
  done
  echo $(((total_ms + 999) / 1000))
}

# start_key FILE KEY: the string value of KEY in the [start] table of a
# carbonguard.toml ("" when absent). Enough TOML for the three durations.
start_key() {
  [ -f "$1" ] || return 0
  awk -v key="$2" '
    /^[[:space:]]*\[/ { in_start = ($0 ~ /^[[:space:]]*\[start\][[:space:]]*(#.*)?$/); next }
    in_start && $0 ~ "^[[:space:]]*" key "[[:space:]]*=" {
      v = $0; sub(/^[^=]*=[[:space:]]*/, "", v); sub(/[[:space:]]*(#.*)?$/, "", v)
      gsub(/^["'\'']|["'\'']$/, "", v); print v; exit
    }' "$1"
}

duration_from() { # duration_from WHAT VALUE DEFAULT_SECONDS
  if [ -z "$2" ]; then
    echo "$3"
    return
  fi
  seconds "$2" || die "$1 \"$2\": use a duration like 90s, 10m, 1h30m or 7d"
}

# render_script TEMPLATE OUT: the drop-in template with the installed settings.
# shellcheck disable=SC2016 # the template's lines are matched and written literally
render_script() {
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    case $line in
      'CARBONGUARD_BIN=${CARBONGUARD_BIN:-'*) printf 'CARBONGUARD_BIN=${CARBONGUARD_BIN:-%s}\n' "$bin_path" ;;
      'CARBONGUARD_STATE=${CARBONGUARD_STATE:-'*) printf 'CARBONGUARD_STATE=${CARBONGUARD_STATE:-%s}\n' "$state" ;;
      'CARBONGUARD_UNIT=${CARBONGUARD_UNIT:-'*) printf 'CARBONGUARD_UNIT=${CARBONGUARD_UNIT:-%s}\n' "$unit_if_any" ;;
      'CARBONGUARD_USER=${CARBONGUARD_USER:-'*) printf 'CARBONGUARD_USER=${CARBONGUARD_USER:-%s}\n' "$user" ;;
      *) printf '%s\n' "$line" ;;
    esac
  done < "$1" > "$2"
  grep -q "^CARBONGUARD_BIN=\${CARBONGUARD_BIN:-$bin_path}\$" "$2" ||
    fail "$1 has no installed-settings block; is it the script from this checkout?"
}

render_config() {
  cat <<EOF
# carbonguard.toml for $home
# Written by carbonguard's scripts/install.sh because the pack had none; install never rewrites
# it, and --uninstall removes it only while it is unchanged. Every key is optional: the values in
# comments are the built-in defaults. Reference: carbonguard --help, carbonguard start --help.

[start]
EOF
  if [ -n "$java_home" ]; then
    printf 'java_home = "%s"\n' "$java_home"
  else
    echo '# java_home = "/usr/lib/jvm/temurin-17-jdk"   # else JAVA_HOME of the caller'
  fi
  cat <<'EOF'
# timeout = "10m"               # the boot must be judged up within this, else failed
# stability = "10s"             # the server must stay up this long after the success line
# stop_timeout = "2m"           # SIGTERM, then SIGKILL after this
# hostname_verification = true  # inject the hostname verification properties
# fail_on = "high"              # findings at or above this severity refuse a start (--force to override)
# user = "wso2carbon"           # when carbonguard runs as root, run the server as this user
# [start.properties]            # extra -Dkey=value script arguments
# "some.property" = "value"

[update]
# u2_backup = false             # carbonguard's verified snapshot is the backup (u2 gets --no-backup)
# self_update_max = 3           # re-runs after u2 exit code 2
# rehearse = false              # every update a rehearsal first: u2 on a copy booted isolated, live server stopped only if it came up
# rehearse_dir = ""             # where the rehearsal's copy goes (default <state>/rehearsals)

[snapshot]
# keep_last = 5

# [notify]
# command = "/usr/local/bin/page-oncall"   # run with the event as JSON on stdin (rolled back, needs attention)
EOF
}

render_unit() {
  local group
  group=$(id -gn -- "$user")
  cat <<EOF
# $unit: WSO2 server at $home, supervised by carbonguard.
# Written by carbonguard's scripts/install.sh; "install.sh --uninstall --home $home" removes it.
#
# carbonguard run is the main process for the server's whole life: it starts the stock startup
# script in the foreground, sends READY=1 only once the boot verdict is up, and stops the server
# in order on SIGTERM. The first start after "carbonguard update" (bin/carbonguard-update.sh)
# judges the first boot: an up boot commits the update, a failed one rolls it back.
#
# TimeoutStartSec covers a failed first boot, the rollback's stop and restore, and a second boot:
#   2 x (boot timeout ${timeout_s}s + stability ${stability_s}s) + stop timeout ${stop_s}s + 300s for the restore
# so that carbonguard's own verdict always comes before systemd gives up.
# TimeoutStopSec is carbonguard's stop timeout plus 30s, so that its SIGKILL comes first.

[Unit]
Description=WSO2 server at $home (carbonguard)
After=network-online.target
Wants=network-online.target
StartLimitIntervalSec=1h
StartLimitBurst=3

[Service]
Type=notify
NotifyAccess=main
User=$user
Group=$group
WorkingDirectory=$home
EOF
  if [ -n "$java_home" ]; then
    echo "Environment=JAVA_HOME=$java_home"
  fi
  cat <<EOF
ExecStart=$bin_path --home $home --state $state --log-format json run
ExecStop=$bin_path --home $home --state $state --log-format json stop --stop-timeout ${stop_s}s
KillMode=mixed
TimeoutStartSec=$start_s
TimeoutStopSec=$((stop_s + 30))
# 143: how a JVM exits after SIGTERM.
SuccessExitStatus=143
Restart=on-failure
RestartSec=10s
# No restart where another attempt cannot help or must not happen: 1 refused by the check gate,
# 2 usage or configuration error, 6 refused to run as root, 33 the boot failed again after a
# rollback (a person must look; never a loop).
RestartPreventExitStatus=1 2 6 33
EOF
  render_sandbox
  cat <<EOF

[Install]
WantedBy=multi-user.target
EOF
}

# under_home PATH: PATH is below a directory ProtectHome= hides.
under_home() {
  case $1/ in
    /home/*|/root/*|/run/user/*) return 0 ;;
  esac
  return 1
}

# render_sandbox: the [Service] lines that limit what the server can reach.
# Each one is something a Carbon JVM and carbonguard run do not need; what
# they do need (the pack, the state directory, the JDK, JMX and the
# product's ports, the Solr index and tmp/ inside the pack, keystores) stays
# reachable. systemd-analyze security --offline=yes rates the result (CI
# fails above 5.0).
render_sandbox() {
  local parent rw=() ro=() bind=() bind_ro=() rw_sys=() p protect_home=yes
  parent=$(dirname -- "$home")
  # A rollback swaps the whole pack with a sibling by rename (the restored
  # tree comes in from <pack>.restore-ID, the failed one goes out as
  # <pack>.displaced-ID-TIME): the pack's parent must be writable and the
  # pack itself must not be a mount point, which ReadWritePaths=<pack> makes it.
  [ "$parent" = / ] || rw+=("$parent")
  rw+=("$state")
  [ -z "$java_home" ] || ro+=("$java_home")
  ro+=("$(dirname -- "$bin_path")")
  for p in "${rw[@]}"; do
    if under_home "$p"; then protect_home=tmpfs bind+=("$p"); else rw_sys+=("$p"); fi
  done
  for p in "${ro[@]}"; do
    if under_home "$p"; then protect_home=tmpfs bind_ro+=("$p"); fi
  done
  cat <<EOF

# Limits. The JVM holds a descriptor per connection, jar and index segment;
# Carbon's own validator asked for at least 4096 (carbonguard check CG-HOST-050).
# Without this line the server gets systemd's default (soft 1024), whatever
# /etc/security/limits.conf says: PAM limits do not apply to services.
LimitNOFILE=65535
UMask=0027

# Sandbox. The server keeps the network (its ports, JMX, databases, LDAP) and
# writes only below the pack's directory and carbonguard's state directory.
NoNewPrivileges=yes
PrivateTmp=yes
PrivateDevices=yes
PrivateMounts=yes
ProtectSystem=full
EOF
  [ ${#rw_sys[@]} -eq 0 ] || echo "ReadWritePaths=${rw_sys[*]}"
  if [ "$protect_home" = yes ]; then
    echo "ProtectHome=yes"
  else
    echo "# Part of the installation is below /home, /root or /run/user: an empty /home with just those paths."
    echo "ProtectHome=tmpfs"
    [ ${#bind[@]} -eq 0 ] || echo "BindPaths=${bind[*]}"
    [ ${#bind_ro[@]} -eq 0 ] || echo "BindReadOnlyPaths=${bind_ro[*]}"
  fi
  if [ "$user" != root ]; then
    # The server's ports are above 1024 and nothing runs set-user-ID: no capabilities.
    echo "CapabilityBoundingSet="
  else
    echo "# Run as root (--user root): carbonguard drops to [start] user itself and a restore keeps owners,"
    echo "# which needs CAP_SETUID, CAP_SETGID, CAP_CHOWN and CAP_FOWNER; the bounding set stays whole."
  fi
  cat <<'EOF'
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
# Other users' processes are invisible; /proc itself stays whole: the JVM reads
# /proc/meminfo and /proc/self/cgroup, carbonguard's checks /proc/net/tcp.
ProtectProc=invisible
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
RemoveIPC=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
SystemCallArchitectures=native
# Groups of system calls a JVM never makes; a denied call fails with EPERM
# instead of killing the process. Left out on purpose: MemoryDenyWriteExecute
# (the JIT compiler writes executable code), @resources (the JVM raises its own
# open-files limit and sets CPU affinity), ProcSubset=pid (see above).
SystemCallFilter=~@clock @cpu-emulation @debug @module @mount @obsolete @raw-io @reboot @swap
SystemCallErrorNumber=EPERM
EOF
}

do_install() {
  local src_bin tmpd
  src_bin=$(find_binary)
  if [ ! -f "$src_bin" ] || [ ! -x "$src_bin" ]; then
    die "binary $src_bin is not an executable file"
  fi
  "$src_bin" version >/dev/null 2>&1 || die "$src_bin does not run (\"$src_bin version\" failed)"
  tmpd=$(mktemp -d)
  cleanup_dirs+=("$tmpd")

  local home_real="" pack_key=""
  if [ -n "$home" ]; then
    [ -d "$home" ] || die "--home $home is not a directory"
    home_real=$(readlink -f -- "$home")
    home=$home_real
    check_path --home "$home"
    # carbonguard's own pack model decides what a pack is.
    local out
    if ! out=$("$src_bin" --home "$home" --log-level error pack 2>&1 >/dev/null); then
      die "--home $home: $out"
    fi
    pack_key=$(basename -- "$home")-$(hash12 "$home")
    if [ -z "$user" ]; then
      user=$(stat -c %U -- "$home")
      [ "$user" != root ] || die "$home is owned by root: give --user, the unprivileged user the server runs as (and chown -R the pack to it)"
    fi
    [[ $user =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]] || die "--user \"$user\": not a user name"
    id -u -- "$user" >/dev/null 2>&1 || die "--user $user: no such user"
    if [ -z "$state" ]; then
      state=/var/lib/carbonguard/$pack_key
    fi
    state=$(abspath "$state"); check_path --state "$state"
    case $state/ in
      "$home"/*) die "--state $state is inside the pack: a snapshot would contain it and a restore would overwrite it" ;;
    esac
    if [ -n "$java_home" ]; then
      java_home=$(abspath "$java_home"); check_path --java-home "$java_home"
      [ -x "$java_home/bin/java" ] || warn "--java-home $java_home has no bin/java"
    fi
    unit=${unit:-carbonguard-$(basename -- "$home").service}
    if [ "$systemd" = yes ] && [ "$print_unit" = no ]; then
      case $home/ in
        /tmp/*|/var/tmp/*) warn "--home $home is below /tmp: the unit's PrivateTmp=yes gives the server a /tmp of its own, without the pack; move the pack (e.g. to /opt) before starting the unit" ;;
      esac
    fi
    [[ $unit =~ ^[A-Za-z0-9:_.@-]+\.service$ ]] || die "--unit \"$unit\": use a name like carbonguard-wso2am.service"
  fi

  local cfg=$home/carbonguard.toml timeout_s stability_s stop_s start_s unit_if_any=""
  if [ -n "$home" ]; then
    timeout_s=$(duration_from "--boot-timeout" "${boot_timeout:-$(start_key "$cfg" timeout)}" 600)
    stability_s=$(duration_from "[start] stability" "$(start_key "$cfg" stability)" 10)
    stop_s=$(duration_from "[start] stop_timeout" "$(start_key "$cfg" stop_timeout)" 120)
    start_s=$((2 * (timeout_s + stability_s) + stop_s + 300))
    if [ "$systemd" = yes ]; then
      unit_if_any=$unit
    fi
  fi
  if [ "$print_unit" = yes ]; then
    [ -n "$home" ] || die "--print-unit needs --home"
    render_unit
    return
  fi
  if [ "$dry_run" = no ]; then
    writable --prefix "$prefix"
    writable --record-dir "$record_dir"
    if [ -n "$home" ]; then
      writable --home "$home/bin"
      writable --state "$state"
      [ "$systemd" = no ] || writable --systemd-dir "$systemd_dir"
    fi
  fi

  lock_records

  # 1. The binary and the completion, recorded per prefix.
  local bin_key
  bin_key=bin-$(hash12 "$prefix")
  record_load "$bin_key"
  meta[kind]=binary
  meta[prefix]=$prefix
  ensure_dir "$prefix/bin"
  put_file "$src_bin" "$bin_path" 755
  "$src_bin" completion bash > "$tmpd/completion"
  ensure_dir "$(dirname -- "$completion_path")"
  put_file "$tmpd/completion" "$completion_path" 644
  local bin_changed=$changed

  [ -n "$home" ] || { summary "$bin_key"; return; }

  # 2. The pack.
  record_load "$pack_key"
  meta[kind]=pack
  meta[home]=$home
  meta[prefix]=$prefix
  meta[state]=$state
  if [ "$systemd" = yes ]; then
    meta[unit]=$systemd_dir/$unit
  fi


  render_script "$script_dir/carbonguard-server.sh" "$tmpd/server.sh"
  render_script "$script_dir/carbonguard-update.sh" "$tmpd/update.sh"
  put_file "$tmpd/server.sh" "$home/bin/carbonguard-server.sh" 755
  own_like_dir "$home/bin/carbonguard-server.sh"
  put_file "$tmpd/update.sh" "$home/bin/carbonguard-update.sh" 755
  own_like_dir "$home/bin/carbonguard-update.sh"

  render_config > "$tmpd/carbonguard.toml"
  "$src_bin" --config "$tmpd/carbonguard.toml" version >/dev/null ||
    fail "the carbonguard.toml this script writes does not load; this is a bug in install.sh"
  put_file "$tmpd/carbonguard.toml" "$cfg" 644 config
  if [ -f "$cfg" ] && [ "$dry_run" = no ]; then
    own_like_dir "$cfg"
  fi

  ensure_dir "$state" "$user"

  if [ "$systemd" = yes ]; then
    render_unit > "$tmpd/unit"
    ensure_dir "$systemd_dir"
    local before=$changed
    put_file "$tmpd/unit" "$systemd_dir/$unit" 644
    if [ "$changed" -gt "$before" ] && [ "$dry_run" = no ] && systemd_running; then
      systemctl daemon-reload
      say "ran systemctl daemon-reload"
    fi
  fi
  summary "$pack_key"
  if [ "$systemd" = yes ] && [ "$dry_run" = no ] && [ $((changed - bin_changed)) -gt 0 ]; then
    say "enable and start the server with: systemctl enable --now $unit"
  fi
}

summary() {
  if [ "$dry_run" = yes ]; then
    say "dry run: $changed change(s) would be made, $unchanged already in place; nothing was changed"
  elif [ "$changed" -eq 0 ]; then
    say "nothing to change: everything is already installed (record $record_dir/install-$1.tsv)"
  else
    say "$changed change(s) made, $unchanged already in place (record $record_dir/install-$1.tsv)"
  fi
}

# ------------------------------------------------------------ uninstalling

# In a dry run nothing goes away; "gone" remembers what would, so that a
# directory holding only such things counts as empty.
declare -A gone
empty_dir() {
  local f
  for f in "$1"/* "$1"/.[!.]* "$1"/..?*; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    [ -n "${gone[$f]+x}" ] || return 1
  done
}

undo_record() { # undo_record KEY
  record_load "$1"
  [ -f "$rec_file" ] || { say "nothing to uninstall: no record $rec_file"; return 0; }
  local stamp i p kind sha unit_changed=no
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  for ((i = ${#rec_order[@]} - 1; i >= 0; i--)); do
    p=${rec_order[$i]}
    kind=${rec_kind[$p]}
    sha=${rec_sha[$p]}
    case $p in "$systemd_unit_path") unit_changed=yes ;; esac
    case $kind in
      dir:created)
        if [ ! -d "$p" ]; then
          :
        elif [ "$p" = "${meta[state]:-}" ] && ! empty_dir "$p"; then
          say "kept $p: carbonguard's state (snapshots, journal) is never deleted; remove it by hand when no longer needed"
        elif ! empty_dir "$p"; then
          say "kept directory $p: not empty"
        elif [ "$dry_run" = yes ]; then
          gone[$p]=1
          say "would remove directory $p"
        else
          rmdir -- "$p"
          say "removed directory $p"
        fi
        ;;
      file:created|file:config)
        if [ ! -e "$p" ]; then
          say "already gone: $p"
        elif [ "$(sha_of "$p")" = "$sha" ]; then
          if [ "$dry_run" = yes ]; then gone[$p]=1; say "would remove $p"; else rm -f -- "$p"; fsync "$(dirname -- "$p")"; say "removed $p"; fi
        elif [ "$kind" = file:config ]; then
          say "kept $p: edited since it was installed (your configuration)"
        else
          if [ "$dry_run" = yes ]; then gone[$p]=1; say "would move $p (edited since install) to $p.modified-$stamp"; else
            mv -- "$p" "$p.modified-$stamp"; say "moved $p (edited since install) to $p.modified-$stamp"; fi
        fi
        ;;
      file:replaced)
        local backup=${rec_backup[$p]}
        [ -f "$backup" ] || fail "$rec_file: the original of $p ($backup) is missing; nothing was restored for it"
        if [ -e "$p" ] && [ "$(sha_of "$p")" != "$sha" ]; then
          if [ "$dry_run" = yes ]; then say "would keep the edited $p as $p.modified-$stamp"; else
            cp -p -- "$p" "$p.modified-$stamp"; say "kept the edited $p as $p.modified-$stamp"; fi
        fi
        if [ "$dry_run" = yes ]; then say "would restore $p from $backup"; else
          restore_atomic "$backup" "$p"; say "restored $p"; fi
        ;;
      *) fail "$rec_file: unknown entry \"$kind\" for $p" ;;
    esac
  done
  if [ "$dry_run" = no ]; then
    rm -rf -- "$rec_dir_d"
    rm -f -- "$rec_file"
    fsync "$record_dir"
    if [ "$unit_changed" = yes ] && systemd_running; then
      systemctl daemon-reload
      say "ran systemctl daemon-reload"
    fi
  fi
}

other_packs_on_prefix() { # other_packs_on_prefix [EXCEPT_KEY]: the other packs' records on this prefix
  local f
  for f in "$record_dir"/install-*.tsv; do
    [ -e "$f" ] || continue
    case $f in */install-bin-*.tsv|"$record_dir/install-${1:-}.tsv") continue ;; esac
    if grep -q "^meta	kind	pack$" "$f" && grep -qxF "meta	prefix	$prefix" "$f"; then
      grep -m1 "^meta	home	" "$f" | cut -f3
    fi
  done
}

do_uninstall() {
  local bin_key pack_key home_real others
  bin_key=bin-$(hash12 "$prefix")
  systemd_unit_path=""
  if [ -n "$home" ]; then
    home_real=$(readlink -f -- "$home" 2>/dev/null || abspath "$home")
    pack_key=$(basename -- "$home_real")-$(hash12 "$home_real")
    record_load "$pack_key"
    if [ ! -f "$rec_file" ]; then
      say "nothing to uninstall for $home_real: no record $rec_file"
      return 0
    fi
    systemd_unit_path=${meta[unit]:-}
    if [ -n "$systemd_unit_path" ] && systemd_running && [ "$force" = no ] &&
      systemctl is-active --quiet -- "$(basename -- "$systemd_unit_path")"; then
      die "unit $(basename -- "$systemd_unit_path") is active: stop it first (systemctl disable --now $(basename -- "$systemd_unit_path")), or pass --force"
    fi
    [ "${meta[prefix]:-$prefix}" = "$prefix" ] || prefix=${meta[prefix]}
    bin_key=bin-$(hash12 "$prefix")
    undo_record "$pack_key"
    others=$(other_packs_on_prefix "$pack_key")
    if [ -n "$others" ]; then
      say "kept the binary in $prefix: still used by the install for $(echo "$others" | paste -sd, -)"
      return 0
    fi
  else
    others=$(other_packs_on_prefix)
    if [ -n "$others" ] && [ "$force" = no ]; then
      die "the binary in $prefix is used by the install for $(echo "$others" | paste -sd, -): uninstall those with --home first, or pass --force"
    fi
  fi
  undo_record "$bin_key"
  if [ "$dry_run" = yes ]; then
    say "dry run: nothing was changed"
  else
    say "uninstalled"
  fi
}

# -------------------------------------------------------------------- main

# The record directory is created by the first install (marked, so that the
# last uninstall removes it again) and locked against a concurrent run.
lock_records() {
  [ "$dry_run" = no ] || return 0
  if [ ! -d "$record_dir" ]; then
    [ "$uninstall" = no ] || return 0
    local d=$record_dir created=()
    while [ ! -d "$d" ]; do
      created=("$d" "${created[@]}")
      d=$(dirname -- "$d")
    done
    mkdir -p -- "$record_dir"
    printf '%s\n' "${created[@]}" > "$record_dir/.created-by-install"
  fi
  exec 9> "$record_dir/.lock"
  flock -n 9 || die "another install.sh is running (lock $record_dir/.lock)"
}

release_records() {
  [ "$dry_run" = no ] && [ -f "$record_dir/.created-by-install" ] || return 0
  # Only the process holding the lock may remove the directory.
  { : >&9; } 2>/dev/null || return 0
  local f
  for f in "$record_dir"/* "$record_dir"/.[!.]*; do
    case $f in
      "$record_dir/*"|"$record_dir/.[!.]*"|"$record_dir/.lock"|"$record_dir/.created-by-install") ;;
      *) return 0 ;; # another install's record, or something else that is not ours
    esac
  done
  local created=()
  mapfile -t created < "$record_dir/.created-by-install"
  rm -f -- "$record_dir/.lock" "$record_dir/.created-by-install"
  local i
  for ((i = ${#created[@]} - 1; i >= 0; i--)); do
    rmdir -- "${created[$i]}" 2>/dev/null || break
    say "removed directory ${created[$i]}"
  done
}

cleanup_dirs=()
on_exit() {
  rm -rf -- "${cleanup_dirs[@]}"
  # A run that stopped before recording anything leaves no record directory behind.
  release_records
}
trap on_exit EXIT

if [ "$uninstall" = yes ]; then
  lock_records
  do_uninstall
else
  do_install
fi
