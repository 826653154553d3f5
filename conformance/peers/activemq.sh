#!/usr/bin/env bash
# Start, stop or query a private ActiveMQ Classic broker with a STOMP connector (TCP only), bound to loopback.
#
#   conformance/peers/activemq.sh start|stop|status
#
# Everything lives in one private directory (config, data, log, PID file); the broker is non-persistent, so
# every start is fresh, and `stop` only ever ends the process this script started, by its PID.
# Debian's ActiveMQ 5.17 build has no ws:// transport, so this peer is TCP only.
#
# Environment (defaults in brackets):
#   PARLEY_ACTIVEMQ_DIR         private directory          [/tmp/parley-activemq-$STOMP_PORT]
#   PARLEY_ACTIVEMQ_STOMP_PORT  STOMP over TCP             [61633]
#   PARLEY_ACTIVEMQ_HOME        ActiveMQ installation      [/usr/share/activemq]
#   PARLEY_ACTIVEMQ_START_TIMEOUT seconds to wait          [60]
#
# `start` prints the variable the Parley tests read, ready for `eval`:
#   PARLEY_ACTIVEMQ_STOMP=127.0.0.1:61633
set -euo pipefail

STOMP_PORT="${PARLEY_ACTIVEMQ_STOMP_PORT:-61633}"
DIR="${PARLEY_ACTIVEMQ_DIR:-/tmp/parley-activemq-$STOMP_PORT}"
AMQ_HOME="${PARLEY_ACTIVEMQ_HOME:-/usr/share/activemq}"
START_TIMEOUT="${PARLEY_ACTIVEMQ_START_TIMEOUT:-60}"
PID_FILE="$DIR/activemq.pid"

die() { echo "activemq.sh: $*" >&2; exit 1; }
alive() { [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_config() {
    mkdir -p "$DIR/conf" "$DIR/data" "$DIR/log"
    cat >"$DIR/conf/activemq.xml" <<EOF
<beans xmlns="http://www.springframework.org/schema/beans"
       xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
       xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
       http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core" useJmx="false" brokerName="parley-$STOMP_PORT"
          persistent="false" dataDirectory="$DIR/data" schedulerSupport="false" advisorySupport="false">
    <transportConnectors>
      <transportConnector name="stomp" uri="stomp+nio://127.0.0.1:$STOMP_PORT?transport.closeAsync=false"/>
    </transportConnectors>
  </broker>
</beans>
EOF
    if [ -f /etc/activemq/instances-available/main/log4j2.properties ]; then
        cp /etc/activemq/instances-available/main/log4j2.properties "$DIR/conf/"
    fi
}

start() {
    if alive; then
        echo "activemq.sh: already running (pid $(cat "$PID_FILE"), dir $DIR)" >&2
        echo "PARLEY_ACTIVEMQ_STOMP=127.0.0.1:$STOMP_PORT"
        return 0
    fi
    port_open "$STOMP_PORT" && die "port $STOMP_PORT is already in use by another process"
    [ -f "$AMQ_HOME/bin/activemq.jar" ] || die "no ActiveMQ at $AMQ_HOME (apt install activemq)"
    command -v java >/dev/null || die "java not found (apt install default-jre-headless)"
    write_config
    # The --add-opens flags are the ones /usr/bin/activemq passes on Java > 8.
    setsid java -Xms256M -Xmx512M \
        --add-reads=java.xml=java.logging \
        --add-opens java.base/java.security=ALL-UNNAMED \
        --add-opens java.base/java.net=ALL-UNNAMED \
        --add-opens java.base/java.lang=ALL-UNNAMED \
        --add-opens java.base/java.util=ALL-UNNAMED \
        --add-opens java.naming/javax.naming.spi=ALL-UNNAMED \
        --add-opens java.rmi/sun.rmi.transport.tcp=ALL-UNNAMED \
        --add-opens java.base/java.util.concurrent=ALL-UNNAMED \
        --add-opens java.base/java.util.concurrent.atomic=ALL-UNNAMED \
        -Dactivemq.classpath="$DIR/conf" \
        -Dactivemq.home="$AMQ_HOME" \
        -Dactivemq.base="$DIR" \
        -Dactivemq.conf="$DIR/conf" \
        -Dactivemq.data="$DIR/data" \
        -Dlog4j2.configurationFile="$DIR/conf/log4j2.properties" \
        -jar "$AMQ_HOME/bin/activemq.jar" start "xbean:file:$DIR/conf/activemq.xml" \
        >"$DIR/log/activemq.out" 2>&1 </dev/null &
    echo $! >"$PID_FILE"
    local waited=0
    until port_open "$STOMP_PORT"; do
        alive || die "broker exited during start; see $DIR/log/activemq.out"
        sleep 0.5
        waited=$((waited + 1))
        [ "$waited" -lt $((START_TIMEOUT * 2)) ] || die "port $STOMP_PORT not open after $START_TIMEOUT s; see $DIR/log/activemq.out"
    done
    echo "activemq.sh: started (pid $(cat "$PID_FILE"), dir $DIR)" >&2
    echo "PARLEY_ACTIVEMQ_STOMP=127.0.0.1:$STOMP_PORT"
}

stop() {
    if ! alive; then
        echo "activemq.sh: not running (dir $DIR)" >&2
        rm -f "$PID_FILE"
        return 0
    fi
    local pid
    pid="$(cat "$PID_FILE")"
    kill -TERM "$pid"
    for _ in $(seq 1 40); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.25
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "activemq.sh: pid $pid ignored SIGTERM for 10 s, sending SIGKILL" >&2
        kill -KILL "$pid" || true
    fi
    rm -f "$PID_FILE"
    echo "activemq.sh: stopped (pid $pid)" >&2
}

status() {
    if alive; then
        echo "running (pid $(cat "$PID_FILE"), STOMP 127.0.0.1:$STOMP_PORT, dir $DIR)"
    else
        echo "stopped (dir $DIR)"
        return 3
    fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
*) die "usage: $0 start|stop|status" ;;
esac
