#!/usr/bin/env bash
# bench/run.sh: build Calmony Pay and stripe-mock, run both side by side on
# this machine (127.0.0.1 only) and print the medians and ratios.
# See BENCHMARKS.md. Every knob is an environment variable:
#
#   RUNS=3 DURATION=10s WARMUP=2s CONCURRENCY=64   runs per target, and their shape
#   SCENARIOS="customers.create customers.retrieve customers.list payment.flow checkout.create"
#   STRIPE_MOCK=/path/to/stripe-mock               use this binary instead of building one
#   STRIPE_MOCK_VERSION=latest                     else go install github.com/stripe/stripe-mock@this
#   PG_URL=postgres://postgres@127.0.0.1:5432/     also run Calmony Pay on PostgreSQL ("" skips it)
#   OUT=bench/results/<time>                       where the raw results and the report go
#
# stripe-mock is built into a temporary folder and never kept in the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONCURRENCY=${CONCURRENCY:-64}
SCENARIOS=${SCENARIOS:-customers.create customers.retrieve customers.list payment.flow checkout.create}
STRIPE_MOCK_VERSION=${STRIPE_MOCK_VERSION:-latest}
PG_URL=${PG_URL-postgres://postgres@127.0.0.1:5432/}
OUT=${OUT:-$ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ)}
SQLITE_PORT=18080 PG_PORT=18083 MOCK_PORT=12111

mkdir -p "$OUT"
WORK=$(mktemp -d)
PIDS=()
PG_DB=""
cleanup() {
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ -n "$PG_DB" ]; then
		psql "${PG_URL}postgres" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

log() { printf '== %s\n' "$*" >&2; }

wait_http() { # URL: wait until anything answers
	for _ in $(seq 1 100); do
		curl -s -o /dev/null "$1" && return 0
		sleep 0.1
	done
	echo "no answer from $1" >&2
	return 1
}

log "building calmonypay and calmony-bench"
go build -o "$WORK/calmonypay" ./cmd/calmonypay
go build -o "$WORK/calmony-bench" ./cmd/calmony-bench
BENCH="$WORK/calmony-bench"

if [ -z "${STRIPE_MOCK:-}" ]; then
	log "building stripe-mock@$STRIPE_MOCK_VERSION (go install into a temporary GOBIN)"
	(cd "$WORK" && GOBIN="$WORK" GOFLAGS=-mod=mod go install "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION")
	STRIPE_MOCK="$WORK/stripe-mock"
fi
MOCK_VERSION=$(go version -m "$STRIPE_MOCK" 2>/dev/null | awk '$1 == "mod" { print $3 }')

{
	echo "date:        $(date -u +%FT%TZ)"
	echo "machine:     $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ { print $2 }') GiB, kernel $(uname -r)"
	echo "go:          $(go version)"
	echo "calmonypay:  $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "stripe-mock: ${MOCK_VERSION:-unknown} ($STRIPE_MOCK)"
	echo "load:        c=$CONCURRENCY, $DURATION measured after $WARMUP warm-up, $RUNS runs per target, alternating targets"
	echo "loadavg:     $(cat /proc/loadavg)"
} | tee "$OUT/machine.txt"

# run LABEL URL KEY PID SCENARIO: one measured run, appended to results.jsonl.
run() {
	"$BENCH" -label "$1" -url "$2" -key "$3" -pid "$4" -scenario "$5" -c "$CONCURRENCY" -d "$DURATION" -warmup "$WARMUP" \
		-wait-idle 60s -retries 2 ${DB_PROC:+-db-proc "$DB_PROC"} -json >>"$OUT/results.jsonl"
	tail -1 "$OUT/results.jsonl" | "$BENCH" report | tail -1 >&2
}

# start NAME CMD...: start a server in the background; its PID goes in $LAST_PID.
start() {
	local name=$1
	shift
	"$@" >>"$OUT/$name.log" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
}
stop() {
	kill "$@" 2>/dev/null || true
	wait "$@" 2>/dev/null || true
}

DATA="$WORK/sqlite"
"$WORK/calmonypay" migrate --data-dir "$DATA" >/dev/null 2>&1
KEY=$("$WORK/calmonypay" keys create --mode test --data-dir "$DATA" 2>/dev/null | tail -1)

# Each scenario gets freshly started servers (the SQLite database carries
# over), so that each one's peak RSS is its own and no state (such as the
# in-process Cardstream sandbox's) builds up from one scenario to the next.
for sc in $SCENARIOS; do
	start stripe-mock "$STRIPE_MOCK" -http-addr "127.0.0.1:$MOCK_PORT" -https-addr "127.0.0.1:$((MOCK_PORT + 1))"
	MOCK_PID=$LAST_PID
	start calmony-sqlite "$WORK/calmonypay" serve --data-dir "$DATA" --addr "127.0.0.1:$SQLITE_PORT" --rate-limit 0
	SQLITE_PID=$LAST_PID
	wait_http "http://127.0.0.1:$MOCK_PORT/"
	wait_http "http://127.0.0.1:$SQLITE_PORT/"
	for i in $(seq 1 "$RUNS"); do
		log "$sc, run $i of $RUNS"
		run calmony-sqlite "http://127.0.0.1:$SQLITE_PORT" "$KEY" "$SQLITE_PID" "$sc"
		run stripe-mock "http://127.0.0.1:$MOCK_PORT" sk_test_123 "$MOCK_PID" "$sc"
	done
	stop "$MOCK_PID" "$SQLITE_PID"
done

log "start-up on the existing database (exec to the first answered request) and idle RSS"
"$BENCH" startup -url "http://127.0.0.1:$SQLITE_PORT" -key "$KEY" -n 5 -json -- \
	"$WORK/calmonypay" serve --data-dir "$DATA" --addr "127.0.0.1:$SQLITE_PORT" --rate-limit 0 >"$OUT/startup.json"
"$BENCH" startup -url "http://127.0.0.1:$SQLITE_PORT" -key "$KEY" -n 5 -- \
	"$WORK/calmonypay" serve --data-dir "$DATA" --addr "127.0.0.1:$SQLITE_PORT" --rate-limit 0 | tee "$OUT/startup.txt"

if [ -n "$PG_URL" ] && psql "${PG_URL}postgres" -qc 'SELECT 1' >/dev/null 2>&1; then
	PG_DB="calmony_bench_$$"
	psql "${PG_URL}postgres" -qc "CREATE DATABASE $PG_DB"
	PG_DSN="${PG_URL}${PG_DB}?sslmode=disable"
	PGDATA_DIR="$WORK/pg"
	"$WORK/calmonypay" migrate --data-dir "$PGDATA_DIR" --database "$PG_DSN" >/dev/null 2>&1
	PG_KEY=$("$WORK/calmonypay" keys create --mode test --data-dir "$PGDATA_DIR" --database "$PG_DSN" 2>/dev/null | tail -1)
	for sc in $SCENARIOS; do
		[ "$sc" = checkout.create ] && continue
		start calmony-postgres "$WORK/calmonypay" serve --data-dir "$PGDATA_DIR" --database "$PG_DSN" \
			--addr "127.0.0.1:$PG_PORT" --rate-limit 0
		PG_PID=$LAST_PID
		wait_http "http://127.0.0.1:$PG_PORT/"
		for i in $(seq 1 "$RUNS"); do
			log "$sc on PostgreSQL, run $i of $RUNS"
			# PostgreSQL's own processes share the CPUs: they are reported
			# as the database's, not as other work.
			DB_PROC=postgres run calmony-postgres "http://127.0.0.1:$PG_PORT" "$PG_KEY" "$PG_PID" "$sc"
		done
		stop "$PG_PID"
	done
else
	log "PostgreSQL not reachable at ${PG_URL:-(PG_URL empty)}: skipping its runs"
fi

{
	echo
	echo "## Against stripe-mock"
	echo
	"$BENCH" report -base stripe-mock "$OUT/results.jsonl"
	if grep -q calmony-postgres "$OUT/results.jsonl"; then
		echo
		echo "## PostgreSQL against SQLite"
		echo
		grep -h -e '"label":"calmony-postgres"' -e '"label":"calmony-sqlite"' "$OUT/results.jsonl" |
			"$BENCH" report -base calmony-sqlite | sed -n '/÷/,$p'
	fi
} | tee "$OUT/report.md"
log "raw results in $OUT"
