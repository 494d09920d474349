#!/usr/bin/env bash
# The SDK compatibility suite: the official `openai` npm SDK against a real Switchyard gateway.
#
#   tests/compat/run.sh BINARY [DATABASE_URL [REDIS_URL]]
#
# DATABASE_URL and REDIS_URL default to SWITCHYARD_DATABASE_URL and SWITCHYARD_REDIS_URL; the database must
# be one this suite may own (the caller creates a fresh one: seed.yaml's tenants and keys are upserted into
# it). SWITCHYARD_MASTER_KEY is used when set, else a throwaway one is generated.
# It migrates and seeds (tests/compat/seed.yaml), serves on a free loopback port with a data directory under
# a mktemp directory, waits for /health, installs the SDK from package-lock.json (`npm ci`) when
# node_modules is missing, runs `node --test`, and always stops the gateway it started, by its PID.
# A gateway that exits non-zero after SIGTERM (a sanitizer report at exit, say) fails the suite.
#
# Environment: SWITCHYARD_COMPAT_JUNIT=FILE also writes a JUnit report there (node >= 20.11).
# Exit status: that of the tests, or 1 when the gateway could not be set up or did not stop cleanly.
set -euo pipefail

SY_SCRIPT="compat"
compat_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../../scripts/lib/common.sh
source "$compat_dir/../../scripts/lib/common.sh"

(($# >= 1 && $# <= 3)) || {
  sed -n '4,5p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
binary=$1
[[ -x $binary ]] || sy_die "not an executable: $binary"
binary=$(cd "$(dirname "$binary")" && pwd -P)/$(basename "$binary")
export SWITCHYARD_DATABASE_URL=${2:-${SWITCHYARD_DATABASE_URL:-}}
export SWITCHYARD_REDIS_URL=${3:-${SWITCHYARD_REDIS_URL:-}}
[[ -n $SWITCHYARD_DATABASE_URL ]] || sy_die "no database URL: pass it or set SWITCHYARD_DATABASE_URL"
[[ -n $SWITCHYARD_REDIS_URL ]] || sy_die "no Redis URL: pass it or set SWITCHYARD_REDIS_URL"
if [[ -z ${SWITCHYARD_MASTER_KEY:-} ]]; then
  SWITCHYARD_MASTER_KEY=$(openssl rand -base64 32)
fi
export SWITCHYARD_MASTER_KEY
command -v node >/dev/null || sy_die "node is not installed"
command -v npm >/dev/null || sy_die "npm is not installed"

# The keys seed.yaml declares.
readonly compat_key=sk-sy-compat-generous-0123456789abcdef
readonly compat_tight_key=sk-sy-compat-tight-0123456789abcdef

work=""
gateway_pid=""
log_shown=0

stop_gateway() {
  # Ends the gateway we started, by its PID: SIGTERM (it drains), SIGKILL after 60 s. Returns its status.
  local pid=$gateway_pid rc=0 waited=0
  [[ -n $pid ]] || return 0
  gateway_pid=""
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && ((waited++ < 600)); do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      sy_warn "the gateway (PID $pid) did not stop within 60 s: killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || rc=$?
  return "$rc"
}

# shellcheck disable=SC2317 # reached through the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT
  trap '' INT TERM HUP
  set +e
  stop_gateway
  if ((rc != 0 && !log_shown)) && [[ -f $work/gateway.log ]]; then
    sy_log "the gateway's log (last 60 lines):"
    tail -n 60 "$work/gateway.log" >&2
  fi
  [[ -n $work ]] && rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

work=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-compat.XXXXXX")
mkdir -p "$work/data"
export SWITCHYARD_DATA_DIR="$work/data"

sy_log "migrate and seed"
"$binary" migrate >"$work/migrate.log" 2>&1 || {
  cat "$work/migrate.log" >&2
  sy_die "migrate failed"
}
"$binary" seed "$compat_dir/seed.yaml" >"$work/seed.log" 2>&1 || {
  cat "$work/seed.log" >&2
  sy_die "seed failed"
}

# serve on a free port; another process may take the port between the pick and the bind, so try thrice.
start_gateway() {
  local port=$1 waited=0
  export SWITCHYARD_LISTEN="127.0.0.1:$port"
  "$binary" serve >>"$work/gateway.log" 2>&1 &
  gateway_pid=$!
  # ASan debug builds start slowly: allow 60 s.
  while ((waited++ < 600)); do
    if ! kill -0 "$gateway_pid" 2>/dev/null; then
      wait "$gateway_pid" 2>/dev/null || true
      gateway_pid=""
      return 1
    fi
    curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/health" 2>/dev/null && return 0
    sleep 0.1
  done
  sy_die "the gateway did not answer /health within 60 s"
}
port=""
for attempt in 1 2 3; do
  port=$(free_port)
  if start_gateway "$port"; then break; fi
  sy_warn "the gateway exited at start-up (attempt $attempt, port $port)"
  port=""
done
[[ -n $port ]] || sy_die "the gateway would not start"
sy_log "gateway PID $gateway_pid at http://127.0.0.1:$port"

cd "$compat_dir"
if [[ ! -d node_modules/openai ]]; then
  sy_log "npm ci (from package-lock.json)"
  npm ci --no-audit --no-fund >&2
fi

reporters=()
if [[ -n ${SWITCHYARD_COMPAT_JUNIT:-} ]]; then
  # The junit reporter came with node 20.11 (and 21.3).
  if node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 11) ? 0 : 1)'; then
    mkdir -p "$(dirname "$SWITCHYARD_COMPAT_JUNIT")"
    reporters=(--test-reporter=spec --test-reporter-destination=stdout
      --test-reporter=junit --test-reporter-destination="$SWITCHYARD_COMPAT_JUNIT")
  else
    sy_warn "node $(node --version) has no junit reporter: no JUnit report"
  fi
fi

test_rc=0
SWITCHYARD_COMPAT_BASE_URL="http://127.0.0.1:$port/v1" \
  SWITCHYARD_COMPAT_KEY=$compat_key \
  SWITCHYARD_COMPAT_TIGHT_KEY=$compat_tight_key \
  node --test "${reporters[@]}" || test_rc=$?

gateway_rc=0
stop_gateway || gateway_rc=$?
if ((gateway_rc != 0)); then
  sy_log "the gateway exited with status $gateway_rc after SIGTERM; its log (last 60 lines):"
  tail -n 60 "$work/gateway.log" >&2
  log_shown=1
  ((test_rc != 0)) || test_rc=1
fi
exit "$test_rc"
