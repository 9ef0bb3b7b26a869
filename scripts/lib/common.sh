# Shared helpers of the project's scripts: installing what is missing and a throwaway PostgreSQL.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root to run: $*"; return 1; fi
}

APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# The directory holding initdb/pg_ctl, installing PostgreSQL when it is missing.
pg_bindir() {
  # Every return states its status: a bare `return` in a function called from a trap returns
  # the status the shell had before the trap, so in the EXIT trap of a failed run it returned
  # non-zero, `set -e` ended the trap, and PostgreSQL and moto_server were left running.
  local dir
  if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    dirname "$(command -v initdb)"; return 0
  fi
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  done
  apt_install postgresql >&2
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  done
  log "PostgreSQL could not be installed"; return 1
}

ensure_swift() {
  command -v swift >/dev/null || { log "Swift 6.2 or later is required (https://swift.org/install)"; return 1; }
}

# librdkafka's headers (the Kafka binding and its in-process mock cluster) and pkg-config.
ensure_librdkafka() {
  if ! command -v pkg-config >/dev/null || ! pkg-config --exists rdkafka \
     || [ ! -f "$(pkg-config --variable=includedir rdkafka)/librdkafka/rdkafka_mock.h" ]; then
    apt_install librdkafka-dev pkg-config
  fi
}

# ensure_python_packages MODULE[=PIP_SPEC]...: pip-installs PIP_SPEC (default MODULE) when python3
# cannot import MODULE, e.g. "moto.server=moto[server]".
ensure_python_packages() {
  local missing=() item
  for item in "$@"; do
    python3 -c "import ${item%%=*}" 2>/dev/null || missing+=("${item#*=}")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    command -v python3 >/dev/null || apt_install python3 python3-pip
    log "pip install ${missing[*]}"
    python3 -m pip install --quiet --disable-pip-version-check "${missing[@]}" \
      || python3 -m pip install --quiet --break-system-packages "${missing[@]}"
  fi
}

# deploy/check installs its pinned Python tools into virtual environments: python3 with venv
# (Debian ships ensurepip, which venv needs, in python3-venv).
ensure_python_venv() {
  if ! command -v python3 >/dev/null || ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    apt_install python3 python3-venv
  fi
}

# run_pg CMD...: run a PostgreSQL program as a user it accepts (never root).
run_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# start_test_postgres DIR PORT: a fresh, throwaway cluster (trust auth on loopback, fsync off).
start_test_postgres() {
  local dir="$1" port="$2" bindir
  bindir="$(pg_bindir)"
  stop_test_postgres "$dir"
  rm -rf "$dir"
  mkdir -p "$dir"
  chmod 755 "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
  run_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >/dev/null
  cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
max_connections = 400
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
  run_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >/dev/null
  log "test PostgreSQL on 127.0.0.1:$port ($dir)"
}

stop_test_postgres() {
  local dir="$1" bindir
  [ -f "$dir/data/postmaster.pid" ] || return 0
  bindir="$(pg_bindir)"
  run_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
}

# start_moto PORT: moto_server (an SNS/SQS emulator, in memory) on 127.0.0.1:PORT in the background,
# answering before this returns; its pid goes to $MOTO_PID_FILE, its output to $MOTO_LOG (by default
# .almanac/moto.pid and .almanac/moto.log; the benchmarks keep their own beside a test run's).
MOTO_PID_FILE="${MOTO_PID_FILE:-$ROOT/.almanac/moto.pid}"
MOTO_LOG="${MOTO_LOG:-$ROOT/.almanac/moto.log}"
start_moto() {
  local port="$1" log="$MOTO_LOG" pid
  ensure_python_packages "moto.server=moto[server]"
  stop_moto
  mkdir -p "$ROOT/.almanac" "$(dirname "$MOTO_PID_FILE")" "$(dirname "$log")"
  if command -v moto_server >/dev/null; then
    moto_server -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  else
    python3 -m moto.server -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  fi
  pid=$!
  echo "$pid" >"$MOTO_PID_FILE"
  for _ in $(seq 1 150); do
    if python3 -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" \
      "http://127.0.0.1:$port/moto-api/" 2>/dev/null; then
      log "moto_server on 127.0.0.1:$port (pid $pid)"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { log "moto_server exited: $(tail -n 5 "$log")"; return 1; }
    sleep 0.2
  done
  log "moto_server did not answer on 127.0.0.1:$port within 30 s"
  return 1
}

# stop_moto: stops the moto_server that start_moto recorded, if it still runs.
stop_moto() {
  local pid
  [ -f "$MOTO_PID_FILE" ] || return 0
  pid="$(cat "$MOTO_PID_FILE")"
  # The pid file may be stale: only a process that is moto is stopped.
  if grep -q moto "/proc/$pid/cmdline" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$MOTO_PID_FILE"
}
