#!/usr/bin/env bash
# Local Airflow UI for this project: `airflow standalone` (api-server, scheduler, dag-processor,
# triggerer) with AIRFLOW_HOME=.airflow, SQLite, this repo's dags/ and plugins/.
#   scripts/airflow-local.sh start | stop | status
#   scripts/airflow-local.sh trigger D [CONF_JSON]   a run for partition D through the REST API: its
#                                                   data interval is [D, D+1) (the CLI's is today's)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export AIRFLOW_HOME="$ROOT/.airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$ROOT/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__PARALLELISM=4          # keeps memory near 2 GB instead of ~5.5 GB
export AIRFLOW__API__PORT="${AIRFLOW_PORT:-8080}"
# The task workers reach the api-server's Execution API here: it must follow the port (its default is
# localhost:8080, which on another port is some other Airflow, or nothing).
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://localhost:$AIRFLOW__API__PORT/execution/"
export AQICAST_LAKE="${AQICAST_LAKE:-$ROOT/var/lake}"
VENV="${VENV:-$ROOT/.venv}"; case "$VENV" in /*) ;; *) VENV="$ROOT/$VENV" ;; esac
export PATH="$VENV/bin:$PATH"                # standalone starts its components by running `airflow`
# This checkout's code wins over an installed copy (the DAG, its include/ and the plugins).
export PYTHONPATH="$ROOT:$ROOT/plugins${PYTHONPATH:+:$PYTHONPATH}"
PIDFILE="$AIRFLOW_HOME/standalone.pid"
LOG="$AIRFLOW_HOME/standalone.log"
mkdir -p "$AIRFLOW_HOME"

stop() {
  if [ -f "$PIDFILE" ]; then
    pgid=$(cat "$PIDFILE")
    kill -TERM -- "-$pgid" 2>/dev/null || true
    sleep 3
    kill -KILL -- "-$pgid" 2>/dev/null || true
    rm -f "$PIDFILE"
  fi
  # Components that left the process group (the triggerer does) are found by their AIRFLOW_HOME.
  for pid in $(pgrep -f "airflow (api-server|scheduler|dag-processor|triggerer|standalone)" || true); do
    if tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx "AIRFLOW_HOME=$AIRFLOW_HOME"; then
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  echo "Airflow stopped."
}

case "${1:-start}" in
  start)
    if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
      echo "Already running (pid $(cat "$PIDFILE")). make airflow-stop to stop it."; exit 0
    fi
    airflow db migrate >/dev/null
    setsid airflow standalone >"$LOG" 2>&1 &
    echo $! > "$PIDFILE"
    echo "Starting Airflow (log: $LOG) ..."
    for _ in $(seq 1 90); do
      if curl -fsS "http://localhost:$AIRFLOW__API__PORT/api/v2/version" >/dev/null 2>&1; then break; fi
      sleep 2
    done
    PASSFILE="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
    echo
    echo "Airflow UI: http://localhost:$AIRFLOW__API__PORT"
    if [ -f "$PASSFILE" ]; then
      echo "Login:      admin / $(python3 -c "import json;print(json.load(open('$PASSFILE'))['admin'])")"
    fi
    echo "DAG:        aqicast_daily (unpause it, or trigger a run with params)"
    echo "Stop:       make airflow-stop"
    ;;
  stop) stop ;;
  trigger)
    day="${2:?usage: $0 trigger YYYY-MM-DD [CONF_JSON]}"
    conf="${3:-}"; [ -n "$conf" ] || conf='{}'
    PASSFILE="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
    BASE="http://localhost:$AIRFLOW__API__PORT"
    token=$(python3 -c "
import json, sys, urllib.request
pw = json.load(open('$PASSFILE'))['admin']
req = urllib.request.Request('$BASE/auth/token', json.dumps({'username': 'admin', 'password': pw}).encode(),
                             {'Content-Type': 'application/json'})
print(json.load(urllib.request.urlopen(req))['access_token'])")
    curl -fsS -X POST "$BASE/api/v2/dags/aqicast_daily/dagRuns" -H "Authorization: Bearer $token" \
      -H "Content-Type: application/json" \
      -d "{\"logical_date\": \"${day}T00:00:00Z\", \"conf\": $conf}"
    echo ;;
  status)
    if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then echo "running (pid $(cat "$PIDFILE"))"; else echo "stopped"; fi ;;
  *) echo "usage: $0 start|stop|status|trigger D [CONF]"; exit 2 ;;
esac
