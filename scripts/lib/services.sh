#!/usr/bin/env bash
# Private Postgres and Redis servers for scripts/quickstart, scripts/test and the C++ tests that stop and
# start them (tests/support/test_env.cpp).
#
#   services.sh postgres-start DIR PORT [--no-fsync]   prints postgresql://switchyard:PASSWORD@127.0.0.1:PORT/switchyard
#   services.sh postgres-stop  DIR
#   services.sh redis-start    DIR PORT                prints redis://127.0.0.1:PORT
#   services.sh redis-stop     DIR
#   services.sh postgres-status DIR | redis-status DIR   prints "running PID PORT" (exit 0) or "stopped" (exit 3)
#
# The URL is always the LAST line on standard output; progress goes to standard error. Every verb is
# idempotent: a server already running from DIR is reused, stopping one that is not running is no error.
# Servers listen on 127.0.0.1 only and are ended by their own PID or data directory, never by name.
#
# SWITCHYARD_PG_FSYNC=off (or --no-fsync) turns off fsync, synchronous_commit and full_page_writes: only for
# throwaway test clusters, whose data may be lost on a machine crash.
set -euo pipefail

readonly PG_USER=postgres
readonly START_TIMEOUT_S=60
readonly STOP_TIMEOUT_S=60

log() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: error: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '5,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# A process is ours only if it is alive and runs the program we expect: a PID left in a stale file may
# have been reused by something else since.
pid_is() {
  local pid=$1 program=$2 comm
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ $comm == "$program"* ]]
}

# Alive and not a zombie (a killed daemon whose parent, maybe a container's PID 1, never reaps it). Says
# nothing about which program it runs: it may not have exec'ed yet.
alive() {
  local state
  [[ $1 =~ ^[0-9]+$ ]] || return 1
  kill -0 "$1" 2>/dev/null || return 1
  # The state follows the parenthesised command name, which may itself hold spaces.
  state=$(sed -n 's/^.*) \([A-Za-z]\).*$/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

random_secret() {
  # Hex, so that it needs no escaping in a URL.
  head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'
}

# Serialises verbs on one DIR (two quickstarts, or a test racing its own restart). The lock descriptor is
# closed for the servers we start, or they would hold the lock for their whole life.
lock_dir() {
  local dir=$1
  mkdir -p "$dir"
  exec 9>"$dir/.services.lock"
  flock -w "$START_TIMEOUT_S" 9 || die "$dir is locked by another services.sh for over ${START_TIMEOUT_S}s"
}

check_port() {
  local port=$1
  if [[ ! $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then die "bad port '$port'"; fi
}

# --- Postgres ---------------------------------------------------------------------------------------------

pg_bindir() {
  local dirs=() dir
  # The newest installed server; Debian 12 has only 15, which the project is built and tested against.
  for dir in /usr/lib/postgresql/*/bin; do
    [[ -x $dir/pg_ctl ]] && dirs+=("$dir")
  done
  ((${#dirs[@]})) || die "no PostgreSQL server found under /usr/lib/postgresql/*/bin (apt-get install postgresql)"
  printf '%s\n' "${dirs[@]}" | sort -V | tail -n1
}

as_postgres() { runuser -u "$PG_USER" -- "$@"; }

# The postgres user must be able to reach DIR: a checkout under /root (0700) cannot hold a cluster.
ensure_postgres_can_reach() {
  local dir=$1
  id "$PG_USER" >/dev/null 2>&1 || die "there is no '$PG_USER' user: install the postgresql package"
  chmod o+x "$dir"
  if ! as_postgres test -x "$dir"; then
    local p=$dir blocked=""
    while [[ $p != / ]]; do
      if ! as_postgres test -x "$p" 2>/dev/null; then blocked=$p; fi
      p=$(dirname "$p")
    done
    die "the '$PG_USER' user cannot reach $dir (blocked at ${blocked:-?}): Postgres refuses to run as root," \
      "so every parent directory must let it pass (chmod o+x ${blocked:-DIR}), or use a directory elsewhere" \
      "(e.g. under /srv or /tmp)"
  fi
}

pg_running_pid() {
  local data=$1 pid
  [[ -f $data/postmaster.pid ]] || return 1
  pid=$(head -n1 "$data/postmaster.pid" 2>/dev/null) || return 1
  pid_is "$pid" postgres || return 1
  printf '%s\n' "$pid"
}

# Line 4 of postmaster.pid is the port the running server listens on.
pg_running_port() { sed -n 4p "$1/postmaster.pid"; }

pg_write_settings() {
  local data=$1 port=$2 fsync=$3
  # Rewritten on every start, so the port and durability follow the current call.
  {
    echo "# Written by scripts/lib/services.sh on every start; edits are lost."
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = ''"
    echo "password_encryption = 'scram-sha-256'"
    echo "max_connections = 200"
    echo "logging_collector = off"
    echo "log_line_prefix = '%m [%p] %q%u@%d '"
    if [[ $fsync == off ]]; then
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
    else
      echo "fsync = on"
    fi
  } >"$data/switchyard.conf"
  chown "$PG_USER:" "$data/switchyard.conf"
  chmod 0600 "$data/switchyard.conf"
}

pg_init() {
  local dir=$1 bindir=$2 data=$1/data password
  log "initialising a Postgres cluster in $data"
  # A directory left by an interrupted first run is incomplete: start it again from nothing.
  rm -rf "$data"
  install -d -m 0700 -o "$PG_USER" -g "$PG_USER" "$data"
  as_postgres "$bindir/initdb" -D "$data" -U "$PG_USER" --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 9>&- ||
    { cat "$dir/initdb.log" >&2; die "initdb failed (log: $dir/initdb.log)"; }
  echo "include_if_exists = 'switchyard.conf'" >>"$data/postgresql.conf"
  install -m 0600 -o "$PG_USER" -g "$PG_USER" /dev/null "$data/switchyard.conf"

  password=$(random_secret)
  (umask 077 && printf '%s\n' "$password" >"$dir/password")
  chmod 0600 "$dir/password"

  # Single-user mode creates the role and database before the server ever listens: no superuser password
  # is needed, and none exists (the superuser can only log in by peer auth on a socket that is off).
  # Its log may echo the password back on an error: keep it private.
  (umask 077 && : >"$dir/bootstrap.log")
  as_postgres "$bindir/postgres" --single -D "$data" -c unix_socket_directories='' -c fsync=off postgres \
    >"$dir/bootstrap.log" 2>&1 9>&- <<SQL ||
CREATE ROLE switchyard LOGIN CREATEDB NOSUPERUSER NOCREATEROLE PASSWORD '$password';
CREATE DATABASE switchyard OWNER switchyard;
SQL
    { cat "$dir/bootstrap.log" >&2; die "creating the switchyard role failed (log: $dir/bootstrap.log)"; }
  if grep -q 'ERROR' "$dir/bootstrap.log"; then
    cat "$dir/bootstrap.log" >&2
    die "creating the switchyard role failed (log: $dir/bootstrap.log)"
  fi
  touch "$dir/.initialised"
}

postgres_start() {
  local dir=$1 port=$2 fsync=$3 bindir data pid password running_port
  check_port "$port"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  data=$dir/data
  lock_dir "$dir"
  bindir=$(pg_bindir)
  ensure_postgres_can_reach "$dir"

  if pid=$(pg_running_pid "$data"); then
    running_port=$(pg_running_port "$data")
    log "reusing Postgres (pid $pid) from $data on port $running_port"
    [[ $running_port == "$port" ]] || log "note: it listens on $running_port, not on the $port asked for"
    port=$running_port
  else
    if [[ ! -f $dir/.initialised || ! -f $data/PG_VERSION || ! -s $dir/password ]]; then
      pg_init "$dir" "$bindir"
    fi
    pg_write_settings "$data" "$port" "$fsync"
    # Left by a server that was killed: its pid is not a live postgres (checked above), and a reused pid
    # could make the new server think it is.
    rm -f "$data/postmaster.pid"
    touch "$dir/postgres.log"
    chown "$PG_USER:" "$dir/postgres.log"
    chmod 0640 "$dir/postgres.log"
    log "starting Postgres from $data on 127.0.0.1:$port (fsync $fsync)"
    if ! as_postgres "$bindir/pg_ctl" start -D "$data" -l "$dir/postgres.log" -w -t "$START_TIMEOUT_S" \
      >&2 9>&-; then
      tail -n 30 "$dir/postgres.log" >&2 || true
      die "Postgres did not start (log: $dir/postgres.log); is port $port taken?"
    fi
  fi

  local deadline=$((SECONDS + START_TIMEOUT_S))
  until "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -t 2; do
    ((SECONDS < deadline)) || { tail -n 30 "$dir/postgres.log" >&2; die "Postgres on port $port is not ready"; }
    sleep 0.2
  done
  password=$(head -n1 "$dir/password")
  printf 'postgresql://switchyard:%s@127.0.0.1:%s/switchyard\n' "$password" "$port"
}

postgres_stop() {
  local dir=$1 data bindir pid
  [[ -d $dir ]] || { log "no $dir: nothing to stop"; return 0; }
  dir=$(cd "$dir" && pwd -P)
  data=$dir/data
  lock_dir "$dir"
  if ! pid=$(pg_running_pid "$data"); then
    log "Postgres from $data is not running"
    return 0
  fi
  bindir=$(pg_bindir)
  log "stopping Postgres (pid $pid) from $data"
  as_postgres "$bindir/pg_ctl" stop -D "$data" -m fast -w -t "$STOP_TIMEOUT_S" >&2 9>&- ||
    die "pg_ctl stop failed for $data"
  # pg_ctl returns once postmaster.pid is gone; the postmaster may take a moment longer to exit.
  local deadline=$((SECONDS + STOP_TIMEOUT_S))
  while pid_is "$pid" postgres; do
    ((SECONDS < deadline)) || die "Postgres (pid $pid) did not exit"
    sleep 0.1
  done
}

# --- Redis ------------------------------------------------------------------------------------------------

redis_running_pid() {
  local dir=$1 pid
  [[ -f $dir/redis.pid ]] || return 1
  pid=$(head -n1 "$dir/redis.pid" 2>/dev/null) || return 1
  pid_is "$pid" redis-server || return 1
  printf '%s\n' "$pid"
}

redis_pid_on_port() {
  redis-cli -h 127.0.0.1 -p "$1" info server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p'
}

redis_start() {
  local dir=$1 port=$2 pid
  check_port "$port"
  command -v redis-server >/dev/null || die "redis-server is not installed (apt-get install redis-server)"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  lock_dir "$dir"

  if pid=$(redis_running_pid "$dir"); then
    port=$(cat "$dir/redis.port" 2>/dev/null || echo "$port")
    log "reusing Redis (pid $pid) from $dir on port $port"
  else
    log "starting Redis in $dir on 127.0.0.1:$port"
    # Started in the background by us rather than with --daemonize, so that its pid is known at once and a
    # server that dies at start (the port is taken) is seen at once. setsid keeps a Ctrl-C meant for the
    # caller from reaching it; no persistence, since rate-limit counters are rebuilt from Postgres.
    setsid redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes --daemonize no \
      --logfile "$dir/redis.log" --dir "$dir" --save '' --appendonly no \
      </dev/null >>"$dir/redis.log" 2>&1 9>&- &
    pid=$!
    echo "$pid" >"$dir/redis.pid"
    echo "$port" >"$dir/redis.port"
  fi

  local deadline=$((SECONDS + START_TIMEOUT_S))
  # The server on PORT must report our pid: a foreign Redis already there is never taken for ours.
  until [[ $(redis_pid_on_port "$port") == "$pid" ]]; do
    if ! alive "$pid" || ((SECONDS >= deadline)); then
      tail -n 20 "$dir/redis.log" >&2 || true
      pid_is "$pid" redis-server && kill -TERM "$pid"
      rm -f "$dir/redis.pid"
      die "Redis did not start on port $port (log: $dir/redis.log); is the port taken?"
    fi
    sleep 0.05
  done
  printf 'redis://127.0.0.1:%s\n' "$port"
}

redis_stop() {
  local dir=$1 pid
  [[ -d $dir ]] || { log "no $dir: nothing to stop"; return 0; }
  dir=$(cd "$dir" && pwd -P)
  lock_dir "$dir"
  if ! pid=$(redis_running_pid "$dir"); then
    log "Redis from $dir is not running"
    rm -f "$dir/redis.pid"
    return 0
  fi
  log "stopping Redis (pid $pid) from $dir"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT_S))
  while pid_is "$pid" redis-server; do
    if ((SECONDS >= deadline)); then
      log "Redis (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT_S}s: killing it"
      kill -KILL "$pid" 2>/dev/null || true
      deadline=$((SECONDS + 10))
    fi
    sleep 0.1
  done
  rm -f "$dir/redis.pid"
}

# --- status ---------------------------------------------------------------------------------------------

postgres_status() {
  local data=$1/data pid
  if pid=$(pg_running_pid "$data"); then
    echo "running $pid $(pg_running_port "$data")"
  else
    echo stopped
    return 3
  fi
}

redis_status() {
  local dir=$1 pid
  if pid=$(redis_running_pid "$dir"); then
    echo "running $pid $(cat "$dir/redis.port" 2>/dev/null || echo '?')"
  else
    echo stopped
    return 3
  fi
}

# --- main -------------------------------------------------------------------------------------------------

main() {
  local args=() fsync=${SWITCHYARD_PG_FSYNC:-on} arg
  for arg in "$@"; do
    case $arg in
      --no-fsync) fsync=off ;;
      --fsync=on | --fsync=off) fsync=${arg#--fsync=} ;;
      -h | --help) usage ;;
      -*) die "unknown option $arg" ;;
      *) args+=("$arg") ;;
    esac
  done
  [[ $fsync == on || $fsync == off ]] || die "SWITCHYARD_PG_FSYNC must be on or off, not '$fsync'"
  ((${#args[@]} >= 2)) || usage
  local verb=${args[0]}
  if [[ $verb == postgres-* && $EUID -ne 0 ]]; then
    die "$verb must run as root (it runs Postgres as the '$PG_USER' user)"
  fi
  case $verb in
    postgres-start) ((${#args[@]} == 3)) || usage; postgres_start "${args[1]}" "${args[2]}" "$fsync" ;;
    postgres-stop) ((${#args[@]} == 2)) || usage; postgres_stop "${args[1]}" ;;
    redis-start) ((${#args[@]} == 3)) || usage; redis_start "${args[1]}" "${args[2]}" ;;
    redis-stop) ((${#args[@]} == 2)) || usage; redis_stop "${args[1]}" ;;
    postgres-status) ((${#args[@]} == 2)) || usage; postgres_status "${args[1]}" ;;
    redis-status) ((${#args[@]} == 2)) || usage; redis_status "${args[1]}" ;;
    *) usage ;;
  esac
}

main "$@"
