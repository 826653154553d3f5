#!/usr/bin/env bash
# Run the Parley STOMP conformance kit against a server, for any CI system.
#
#   conformance/ci/run-conformance.sh
#
# Environment:
#   PARLEY_PROFILE       profile name (parley, spring, rabbitmq, activemq) or a path to your own profile YAML  [required]
#   PARLEY_STOMP_URL     tcp://host:port or ws://host:port/path of the server under test                    [required]
#   PARLEY_ACCOUNT_URL   account API base URL, for bearer-token profiles                                     [optional]
#   PARLEY_TAGS          space-separated tags to restrict the run to                                          [optional]
#   PARLEY_JWT_SECRET_ENV name of the variable holding the server's JWT secret (enables expired-token checks) [optional]
#   PARLEY_REPORT_DIR    where junit.xml and report.json go                                 [conformance-report]
#   PARLEY_KIT_DIR       checkout of the Parley repository                        [the repository of this script]
#   PARLEY_BIN           a prebuilt `parley` binary                       [built with `swift build -c release`]
#   PARLEY_WAIT_SECONDS  how long to wait for the server's port to accept                                 [60]
#
# Exit status: 0 when every applicable conversation passed or deviated as documented, 1 on any failure,
# 2 on a setup problem (missing variables, server not reachable, build failure).
set -euo pipefail

die() { echo "run-conformance.sh: $*" >&2; exit 2; }

[ -n "${PARLEY_PROFILE:-}" ] || die "set PARLEY_PROFILE (parley, spring, rabbitmq, activemq or a YAML path)"
[ -n "${PARLEY_STOMP_URL:-}" ] || die "set PARLEY_STOMP_URL (tcp://host:port or ws://host:port/path)"
KIT_DIR="${PARLEY_KIT_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
REPORT_DIR="${PARLEY_REPORT_DIR:-conformance-report}"
WAIT_SECONDS="${PARLEY_WAIT_SECONDS:-60}"
mkdir -p "$REPORT_DIR"

# Wait for the server's port: CI often starts it in the background just before this step.
hostport="${PARLEY_STOMP_URL#*://}"
hostport="${hostport%%/*}"
host="${hostport%:*}"
port="${hostport##*:}"
[ "$port" != "$hostport" ] || die "PARLEY_STOMP_URL needs an explicit port: $PARLEY_STOMP_URL"
waited=0
until (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; do
    waited=$((waited + 1))
    [ "$waited" -le "$WAIT_SECONDS" ] || die "nothing accepts connections on $host:$port after $WAIT_SECONDS s"
    sleep 1
done

if [ -n "${PARLEY_BIN:-}" ]; then
    BIN="$PARLEY_BIN"
else
    (cd "$KIT_DIR" && swift build -c release --product parley >&2) || die "building parley failed"
    BIN="$KIT_DIR/.build/release/parley"
fi
[ -x "$BIN" ] || die "no parley binary at $BIN"

args=(conformance run --kit-dir "$KIT_DIR" --profile "$PARLEY_PROFILE" --url "$PARLEY_STOMP_URL"
      --junit "$REPORT_DIR/junit.xml" --json "$REPORT_DIR/report.json")
[ -z "${PARLEY_ACCOUNT_URL:-}" ] || args+=(--account-url "$PARLEY_ACCOUNT_URL")
[ -z "${PARLEY_JWT_SECRET_ENV:-}" ] || args+=(--jwt-secret-env "$PARLEY_JWT_SECRET_ENV")
if [ -n "${PARLEY_TAGS:-}" ]; then
    # shellcheck disable=SC2206
    tags=($PARLEY_TAGS)
    args+=(--tags "${tags[@]}")
fi

set +e
"$BIN" "${args[@]}"
status=$?
set -e
echo "run-conformance.sh: reports in $REPORT_DIR (junit.xml, report.json)"
case "$status" in
0) exit 0 ;;
1) exit 1 ;;
*) exit 2 ;;
esac
