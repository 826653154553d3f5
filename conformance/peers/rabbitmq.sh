#!/usr/bin/env bash
# Start, stop or query a private RabbitMQ node with the STOMP and Web-STOMP plugins, bound to loopback.
#
#   conformance/peers/rabbitmq.sh start|stop|status
#
# Everything lives in one private directory (data, logs, config, PID files), and the node runs its own epmd on a
# private port, so several copies (different ports, different dirs) can run side by side and `stop` only ever
# ends processes this script started, by PID.
#
# Environment (defaults in brackets):
#   PARLEY_RABBITMQ_DIR         private directory             [/tmp/parley-rabbitmq-$STOMP_PORT]
#   PARLEY_RABBITMQ_STOMP_PORT  STOMP over TCP                [61613]
#   PARLEY_RABBITMQ_WS_PORT     Web-STOMP (ws://.../ws)       [15674]
#   PARLEY_RABBITMQ_AMQP_PORT   AMQP listener                 [5672]
#   PARLEY_RABBITMQ_DIST_PORT   Erlang distribution port      [AMQP port + 20000]
#   PARLEY_RABBITMQ_EPMD_PORT   private epmd port             [STOMP port - 40000, i.e. 21613]
#   PARLEY_RABBITMQ_KEEP_DATA   1 keeps queues of earlier runs (default: fresh data on every start)
#   PARLEY_RABBITMQ_START_TIMEOUT seconds to wait for the ports [60]
#
# `start` prints the variables the Parley tests read, ready for `eval`:
#   PARLEY_RABBITMQ_STOMP=127.0.0.1:61613  PARLEY_RABBITMQ_WS=ws://127.0.0.1:15674/ws
set -euo pipefail

STOMP_PORT="${PARLEY_RABBITMQ_STOMP_PORT:-61613}"
WS_PORT="${PARLEY_RABBITMQ_WS_PORT:-15674}"
AMQP_PORT="${PARLEY_RABBITMQ_AMQP_PORT:-5672}"
DIST_PORT="${PARLEY_RABBITMQ_DIST_PORT:-$((AMQP_PORT + 20000))}"
EPMD_PORT="${PARLEY_RABBITMQ_EPMD_PORT:-$((STOMP_PORT - 40000))}"
DIR="${PARLEY_RABBITMQ_DIR:-/tmp/parley-rabbitmq-$STOMP_PORT}"
START_TIMEOUT="${PARLEY_RABBITMQ_START_TIMEOUT:-60}"
RABBIT_BIN="${PARLEY_RABBITMQ_BIN:-/usr/lib/rabbitmq/bin}"
NODE="parley${STOMP_PORT}@localhost"

die() { echo "rabbitmq.sh: $*" >&2; exit 1; }

node_env() {
    export HOME="$DIR/home"
    export RABBITMQ_NODENAME="$NODE"
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    export RABBITMQ_NODE_PORT="$AMQP_PORT"
    export RABBITMQ_DIST_PORT="$DIST_PORT"
    export RABBITMQ_CONFIG_FILE="$DIR/rabbitmq"          # .conf is appended by RabbitMQ
    export RABBITMQ_ENABLED_PLUGINS_FILE="$DIR/enabled_plugins"
    export RABBITMQ_MNESIA_BASE="$DIR/mnesia"
    export RABBITMQ_LOG_BASE="$DIR/log"
    export RABBITMQ_PID_FILE="$DIR/rabbit.pid"
    export ERL_EPMD_ADDRESS=127.0.0.1
    export ERL_EPMD_PORT="$EPMD_PORT"
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

print_env() {
    echo "PARLEY_RABBITMQ_STOMP=127.0.0.1:$STOMP_PORT"
    echo "PARLEY_RABBITMQ_WS=ws://127.0.0.1:$WS_PORT/ws"
}

start() {
    if alive "$DIR/server.pid"; then
        echo "rabbitmq.sh: already running (pid $(cat "$DIR/server.pid"), dir $DIR)" >&2
        print_env; return 0
    fi
    [ -x "$RABBIT_BIN/rabbitmq-server" ] || die "rabbitmq-server not found in $RABBIT_BIN (apt install rabbitmq-server)"
    for port in "$STOMP_PORT" "$WS_PORT" "$AMQP_PORT"; do
        port_open "$port" && die "port $port on 127.0.0.1 is already in use"
    done
    mkdir -p "$DIR/home" "$DIR/log"
    if [ "${PARLEY_RABBITMQ_KEEP_DATA:-0}" != 1 ]; then rm -rf "$DIR/mnesia"; fi
    cat >"$DIR/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$AMQP_PORT
stomp.listeners.tcp.1 = 127.0.0.1:$STOMP_PORT
web_stomp.tcp.ip = 127.0.0.1
web_stomp.tcp.port = $WS_PORT
loopback_users.guest = true
CONF
    echo '[rabbitmq_stomp,rabbitmq_web_stomp].' >"$DIR/enabled_plugins"
    node_env
    # Private epmd: stopping it later cannot disturb anybody else's Erlang nodes.
    if ! alive "$DIR/epmd.pid"; then
        setsid epmd -address 127.0.0.1 -port "$EPMD_PORT" >"$DIR/log/epmd.out" 2>&1 </dev/null &
        echo $! >"$DIR/epmd.pid"
    fi
    # rabbitmq-server ends in `exec erl`, so $! is the Erlang VM itself.
    setsid "$RABBIT_BIN/rabbitmq-server" >"$DIR/log/server.out" 2>&1 </dev/null &
    echo $! >"$DIR/server.pid"
    local deadline=$((SECONDS + START_TIMEOUT))
    until port_open "$STOMP_PORT" && port_open "$WS_PORT"; do
        if ! alive "$DIR/server.pid"; then
            tail -20 "$DIR/log/server.out" >&2 || true
            die "rabbitmq-server exited during start (logs in $DIR/log)"
        fi
        [ $SECONDS -lt $deadline ] || die "ports $STOMP_PORT/$WS_PORT not open after ${START_TIMEOUT}s (logs in $DIR/log)"
        sleep 0.2
    done
    echo "rabbitmq.sh: started node $NODE (pid $(cat "$DIR/server.pid"), dir $DIR)" >&2
    print_env
}

stop_pid_file() {  # stop_pid_file FILE NAME: SIGTERM, wait up to 15 s, then SIGKILL
    local file="$1" name="$2"
    alive "$file" || { rm -f "$file"; return 0; }
    local pid; pid="$(cat "$file")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 75); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then echo "rabbitmq.sh: $name did not stop, killing" >&2; kill -9 "$pid" 2>/dev/null || true; fi
    rm -f "$file"
}

stop() {
    node_env
    if alive "$DIR/server.pid"; then
        "$RABBIT_BIN/rabbitmqctl" -n "$NODE" stop >/dev/null 2>&1 || true
        stop_pid_file "$DIR/server.pid" rabbitmq-server
    fi
    stop_pid_file "$DIR/epmd.pid" epmd
    echo "rabbitmq.sh: stopped ($DIR)" >&2
}

status() {
    if alive "$DIR/server.pid"; then
        echo "running pid $(cat "$DIR/server.pid") node $NODE dir $DIR"
        # The Erlang VM (the process whose memory matters) writes its own PID file once booted.
        [ -f "$DIR/rabbit.pid" ] && echo "beam pid $(cat "$DIR/rabbit.pid")"
        port_open "$STOMP_PORT" && echo "stomp 127.0.0.1:$STOMP_PORT open" || echo "stomp 127.0.0.1:$STOMP_PORT closed"
        port_open "$WS_PORT" && echo "web-stomp 127.0.0.1:$WS_PORT open" || echo "web-stomp 127.0.0.1:$WS_PORT closed"
    else
        echo "stopped (dir $DIR)"; return 3
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    env) print_env ;;
    *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
