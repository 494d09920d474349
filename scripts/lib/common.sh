# Shared helpers for scripts/quickstart and scripts/test. Source it; it defines functions and SY_ROOT only.
# shellcheck shell=bash

SY_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
SY_SERVICES="$SY_ROOT/scripts/lib/services.sh"

# The Debian packages the build, the tests and quickstart need. Add a suite's own needs with
# `install_packages EXTRA...` rather than here, so that quickstart stays lean.
SY_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git curl
  libboost1.81-dev libboost-url1.81-dev libpqxx-dev libhiredis-dev nlohmann-json3-dev libspdlog-dev
  libyaml-cpp-dev libargon2-dev libssl-dev libjwt-dev libsimdjson-dev libgtest-dev libgmock-dev
  postgresql redis-server
)

sy_log() { printf '[%s %s] %s\n' "${SY_SCRIPT:-switchyard}" "$(date +%H:%M:%S)" "$*" >&2; }
sy_warn() { printf '[%s %s] warning: %s\n' "${SY_SCRIPT:-switchyard}" "$(date +%H:%M:%S)" "$*" >&2; }
sy_die() {
  printf '[%s %s] error: %s\n' "${SY_SCRIPT:-switchyard}" "$(date +%H:%M:%S)" "$*" >&2
  exit 1
}

# "1m 23s" for a number of seconds.
sy_duration() {
  local s=$1
  if ((s >= 60)); then printf '%dm %02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}

sy_require_root() {
  [[ $EUID -eq 0 ]] || sy_die "run as root: it installs packages with apt-get and runs Postgres as the postgres user"
}

_sy_apt_updated=0

# Installs whichever of SY_PACKAGES and the given extra packages are missing. When nothing is missing it
# touches neither apt nor the network, so a second run takes a moment.
install_packages() {
  local wanted=("${SY_PACKAGES[@]}" "$@") missing=() pkg installed
  # One dpkg-query for all: names it does not know are simply absent from its answer.
  installed=" $(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${wanted[@]}" 2>/dev/null |
    awk '$2 == "installed" { printf "%s ", $1 }')"
  for pkg in "${wanted[@]}"; do
    [[ $installed == *" ${pkg%%:*} "* ]] || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    sy_log "all ${#wanted[@]} packages present"
    return 0
  fi
  sy_require_root
  sy_log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  local apt=(apt-get -o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0 -q)
  if ((_sy_apt_updated == 0)); then
    "${apt[@]}" update >&2 || sy_die "apt-get update failed"
    _sy_apt_updated=1
  fi
  # Package scripts would start Debian's own Postgres (5432) and Redis (6379) services; these scripts run
  # private servers instead, so nothing is started during the install. A policy-rc.d already there
  # (a container's) is left alone.
  local policy=/usr/sbin/policy-rc.d own_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# Written by switchyard scripts/lib/common.sh for one apt-get run.\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    own_policy=1
  fi
  local rc=0
  "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >&2 || rc=$?
  ((own_policy)) && rm -f "$policy"
  ((rc == 0)) || sy_die "apt-get install failed (exit $rc) for: ${missing[*]}"
}

# ccache shared between checkouts: paths are made relative to the repository root and the working
# directory is not hashed, so a fresh clone elsewhere (CI) reuses what an earlier build compiled.
configure_ccache() {
  if ! command -v ccache >/dev/null; then
    sy_warn "ccache not found: building without a compiler cache"
    return 0
  fi
  export CCACHE_BASEDIR="$SY_ROOT"
  export CCACHE_NOHASHDIR=1
  export CCACHE_DIR="${CCACHE_DIR:-${HOME:-/root}/.cache/ccache}"
  export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
  # Same header set under another absolute path must still hit; mtime changes from a fresh clone must not
  # matter.
  export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-include_file_ctime,include_file_mtime,pch_defines,time_macros}"
  mkdir -p "$CCACHE_DIR"
}

# "HITS MISSES" from ccache's statistics (0 0 without ccache); print a difference of two readings with
# ccache_report BEFORE.
ccache_counts() {
  if ! command -v ccache >/dev/null; then
    echo "0 0"
    return 0
  fi
  ccache --print-stats 2>/dev/null |
    awk -F'\t' '$1=="direct_cache_hit"||$1=="preprocessed_cache_hit"{h+=$2} $1=="cache_miss"{m+=$2}
                END{printf "%d %d\n", h, m}'
}

ccache_report() {
  local hits0 misses0 hits1 misses1
  read -r hits0 misses0 <<<"$1"
  read -r hits1 misses1 < <(ccache_counts)
  local hits=$((hits1 - hits0)) misses=$((misses1 - misses0))
  ((hits + misses > 0)) && printf 'ccache: %d hits, %d misses\n' "$hits" "$misses"
  return 0
}

# True when something accepts connections on 127.0.0.1:PORT or a socket is bound to it.
port_in_use() {
  local port=$1
  if command -v ss >/dev/null; then
    [[ -n $(ss -Htan "( sport = :$port )" 2>/dev/null) ]] && return 0
  fi
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

# A loopback TCP port that is free now, below Linux's ephemeral range (32768+) so that outgoing
# connections do not take it meanwhile. Called as $(free_port), it cannot remember what it handed out
# before: start a server on one port before asking for the next.
free_port() {
  local port tries=0
  while ((tries++ < 200)); do
    port=$((20000 + RANDOM % 12000))
    port_in_use "$port" && continue
    printf '%s\n' "$port"
    return 0
  done
  sy_die "no free loopback port found"
}

# Runs services.sh and returns only its last stdout line (the URL); its progress stays on stderr.
services() {
  local out
  out=$("$SY_SERVICES" "$@") || return 1
  printf '%s\n' "${out##*$'\n'}"
}

# Parallel build jobs: 2, the cores of every machine here; SWITCHYARD_JOBS overrides.
build_jobs() { printf '%s\n' "${SWITCHYARD_JOBS:-2}"; }
