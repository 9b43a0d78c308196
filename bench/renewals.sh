#!/usr/bin/env bash
# bench/renewals.sh [DIR]: the billing.renewals scenario (see BENCHMARKS.md)
# on SQLite and on PostgreSQL, alternately, each run on a fresh database and
# a freshly started server: N subscriptions on one test clock set up over
# HTTP (not timed), then one advance of a month, timed until the clock is
# ready, and a check through the API that every renewal invoice was paid
# exactly once. Prints the runs, the medians and PostgreSQL ÷ SQLite.
# DIR is the source tree to build (default: this one).
#
# Every subscription's card is a token (an xref) in the Cardstream sandbox,
# charged when the subscription starts and again at its renewal; the
# sandbox forgets the least recently used of its transactions beyond its
# limit (10,000 by default), and a renewal whose token was forgotten is
# declined. So the sandbox is given room for every transaction of the run:
# SANDBOX_MAX, by default 3×N + 10,000 (about 650 bytes each, in the
# server's memory with the in-process sandbox).
#
# With RESTART=1 the server is restarted between the set-up and the advance
# (calmony-bench -setup-only, then -reuse), so that its peak RSS (VmHWM) is
# the advance's own and not the set-up's. A restarted server's in-process
# sandbox would have forgotten every card, so RESTART=1 runs a standalone
# sandbox (calmonypay sandbox), which also keeps the sandbox's memory out of
# the server's: the way to measure the 100,000 subscriptions target
# (N=100000 RESTART=1 ROUNDS=1). SANDBOX=standalone does so without RESTART.
#
# Knobs (environment):
#   N=10000 ROUNDS=3 CONCURRENCY=64    subscriptions, rounds, set-up clients
#   DBS="sqlite postgres"              which databases, in this order in odd rounds
#   PG_URL=postgres://postgres@127.0.0.1:5432/   PostgreSQL server ("" skips it)
#   RESTART=0  WAIT_IDLE=30s  RETRIES=0   see above; calmony-bench -wait-idle, -retries
#   SANDBOX=in-process (standalone with RESTART=1)  SANDBOX_MAX=3×N+10000 (0: the sandbox's default)
#   PPROF=0    1: a CPU profile of the server during each advance, in $OUT
#   BIN_DIR=   run the calmonypay and calmony-bench built there instead of building DIR
#   OUT=${TMPDIR:-/tmp}/calmony-renewals/<time>   results, logs and profiles (never the repository)
set -euo pipefail
SRC=$(cd "${1:-$(dirname "$0")/..}" && pwd)

N=${N:-10000}
ROUNDS=${ROUNDS:-3}
CONCURRENCY=${CONCURRENCY:-64}
DBS=${DBS:-sqlite postgres}
PG_URL=${PG_URL-postgres://postgres@127.0.0.1:5432/}
RESTART=${RESTART:-0}
WAIT_IDLE=${WAIT_IDLE:-30s}
RETRIES=${RETRIES:-0}
PPROF=${PPROF:-0}
SANDBOX=${SANDBOX:-in-process}
[ "$RESTART" = 1 ] && SANDBOX=standalone
SANDBOX_MAX=${SANDBOX_MAX:-$((3 * N + 10000))}
OUT=${OUT:-${TMPDIR:-/tmp}/calmony-renewals/$(date -u +%Y%m%dT%H%M%SZ)}
PORT=18380 PPROF_PORT=16380 SANDBOX_PORT=18390

mkdir -p "$OUT"
WORK=$(mktemp -d)
SERVER_PID="" SANDBOX_PID="" PG_DB=""
cleanup() {
	for pid in $SERVER_PID $SANDBOX_PID; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	drop_pg
	rm -rf "$WORK"
}
trap cleanup EXIT

log() { printf '== %s\n' "$*" >&2; }

drop_pg() {
	if [ -n "$PG_DB" ]; then
		psql "${PG_URL}postgres" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
		PG_DB=""
	fi
}

wait_http() { # URL
	for _ in $(seq 1 100); do
		curl -s -o /dev/null "$1" && return 0
		sleep 0.1
	done
	echo "no answer from $1" >&2
	return 1
}

if [ -n "${BIN_DIR:-}" ]; then
	BIN=$BIN_DIR/calmonypay BENCH=$BIN_DIR/calmony-bench
else
	log "building $SRC"
	(cd "$SRC" && go build -o "$WORK/calmonypay" ./cmd/calmonypay && go build -o "$WORK/calmony-bench" ./cmd/calmony-bench)
	BIN=$WORK/calmonypay BENCH=$WORK/calmony-bench
fi

{
	echo "date:     $(date -u +%FT%TZ)"
	echo "machine:  $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)"
	echo "go:       $(go version)"
	echo "source:   $SRC @ $(git -C "$SRC" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "run:      N=$N, $ROUNDS rounds of: $DBS (order reversed in even rounds), set-up with c=$CONCURRENCY, restart before the advance: $RESTART"
	echo "sandbox:  $SANDBOX, keeping $SANDBOX_MAX transactions"
	echo "loadavg:  $(cat /proc/loadavg)"
} | tee "$OUT/machine.txt" >&2

# serve DATA [DSN]: start a server on DATA (and DSN), its PID in SERVER_PID.
serve() {
	local extra=() env=()
	[ -n "${2:-}" ] && extra=(--database "$2")
	[ "$PPROF" = 1 ] && extra+=(--pprof-addr "127.0.0.1:$PPROF_PORT")
	if [ "$SANDBOX" = standalone ]; then
		env=("CARDSTREAM_TEST_GATEWAY_URL=http://127.0.0.1:$SANDBOX_PORT/")
	elif [ "$SANDBOX_MAX" != 0 ]; then
		extra+=(--sandbox-max-transactions "$SANDBOX_MAX")
	fi
	env "${env[@]}" "$BIN" serve --data-dir "$1" "${extra[@]}" --addr "127.0.0.1:$PORT" --rate-limit 0 >>"$OUT/server.log" 2>&1 &
	SERVER_PID=$!
	wait_http "http://127.0.0.1:$PORT/"
}
stop() {
	kill "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=""
}

# one DB ROUND: a fresh database and server, set-up and one advance.
one() {
	local db=$1 round=$2 data dsn="" key dbproc=() profile="" profiler=""
	data=$(mktemp -d "$WORK/$db-r$round.XXXX")
	if [ "$db" = postgres ]; then
		PG_DB="calmony_renewals_$$_$round"
		psql "${PG_URL}postgres" -qc "CREATE DATABASE $PG_DB"
		dsn="${PG_URL}${PG_DB}?sslmode=disable"
		dbproc=(-db-proc postgres)
	fi
	if [ "$SANDBOX" = standalone ]; then
		"$BIN" sandbox --addr "127.0.0.1:$SANDBOX_PORT" --max-transactions "$SANDBOX_MAX" >>"$OUT/sandbox.log" 2>&1 &
		SANDBOX_PID=$!
		wait_http "http://127.0.0.1:$SANDBOX_PORT/"
	fi
	"$BIN" migrate --data-dir "$data" ${dsn:+--database "$dsn"} >/dev/null 2>&1
	key=$("$BIN" keys create --mode test --data-dir "$data" ${dsn:+--database "$dsn"} 2>/dev/null | tail -1)
	serve "$data" "$dsn"
	local args=(-label "$db" -url "http://127.0.0.1:$PORT" -key "$key" -scenario billing.renewals -n "$N" -c "$CONCURRENCY"
		-wait-idle "$WAIT_IDLE" -retries "$RETRIES" "${dbproc[@]}" -json)
	if [ "$RESTART" = 1 ]; then
		log "round $round, $db: set-up of $N subscriptions"
		"$BENCH" "${args[@]}" -setup-only >"$OUT/setup.json"
		stop
		serve "$data" "$dsn"
		args+=(-reuse)
	fi
	log "round $round, $db: set-up (unless done) and the advance"
	if [ "$PPROF" = 1 ]; then
		profile="$OUT/cpu-$db-r$round.pprof"
		# The profile covers the advance once the set-up is over: it starts
		# when the clock starts advancing.
		(
			for _ in $(seq 1 36000); do
				if curl -s "http://127.0.0.1:$PORT/v1/test_helpers/test_clocks?limit=1" -u "$key:" | grep -q '"advancing"'; then
					curl -s -o "$profile" "http://127.0.0.1:$PPROF_PORT/debug/pprof/profile?seconds=${PPROF_SECONDS:-10}"
					break
				fi
				sleep 0.05
			done
		) &
		profiler=$!
	fi
	local status=0
	"$BENCH" "${args[@]}" -pid "$SERVER_PID" >"$OUT/run.json" || status=$?
	if [ -n "$profiler" ]; then wait "$profiler"; fi
	if [ "$RESTART" = 1 ]; then
		jq -c --slurpfile s "$OUT/setup.json" --argjson round "$round" '. + {round: $round, setup_seconds: $s[0].setup_seconds}' \
			"$OUT/run.json" >>"$OUT/results.jsonl"
	else
		jq -c --argjson round "$round" '. + {round: $round}' "$OUT/run.json" >>"$OUT/results.jsonl"
	fi
	tail -1 "$OUT/results.jsonl" | jq -r '"   \(.label) r\(.round): \(.ops_per_sec|floor) renewals/s in \(.seconds*100|floor/100) s (set-up \(.setup_seconds // 0|floor) s), paid once \(.renewals.paid) of \(.renewals.subscriptions), server \(.server.cpu_per_op_us|floor) µs/renewal, peak RSS \(.server.peak_rss_bytes/1048576|floor) MB, db cores \(.database.cores // 0 | .*100|floor/100), other CPU \(.other_cores*100|floor/100), tainted \(.tainted)"' >&2
	stop
	if [ -n "$SANDBOX_PID" ]; then
		kill "$SANDBOX_PID" 2>/dev/null || true
		wait "$SANDBOX_PID" 2>/dev/null || true
		SANDBOX_PID=""
	fi
	drop_pg
	rm -rf "$data"
	if [ "$status" -ne 0 ]; then
		log "billing.renewals FAILED on $db (see $OUT/results.jsonl)"
		exit "$status"
	fi
}

if [[ " $DBS " == *" postgres "* ]] && { [ -z "$PG_URL" ] || ! psql "${PG_URL}postgres" -qc 'SELECT 1' >/dev/null 2>&1; }; then
	log "PostgreSQL not reachable at ${PG_URL:-(PG_URL empty)}: SQLite only"
	DBS=sqlite
fi
for round in $(seq 1 "$ROUNDS"); do
	order=$DBS
	[ $((round % 2)) -eq 0 ] && order=$(tr ' ' '\n' <<<"$DBS" | tac | xargs)
	for db in $order; do
		one "$db" "$round"
	done
done

python3 - "$OUT/results.jsonl" <<'EOF' | tee "$OUT/summary.txt"
import json, sys, statistics as st
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
med = {}
print(f"{'database':<10} {'runs':>4} {'renewals/s':>11} {'(each)':<24} {'µs/renewal':>10} {'peak RSS MB':>11} {'set-up s':>8} {'tainted':>7}")
for db in dict.fromkeys(r["label"] for r in rows):
    rs = [r for r in rows if r["label"] == db]
    ops = [r["ops_per_sec"] for r in rs]
    med[db] = st.median(ops)
    print(f"{db:<10} {len(rs):>4} {med[db]:>11.0f} {' / '.join(f'{x:.0f}' for x in ops):<24} "
          f"{st.median(r['server']['cpu_per_op_us'] for r in rs):>10.0f} {max(r['server']['peak_rss_bytes'] for r in rs)/2**20:>11.1f} "
          f"{st.median(r.get('setup_seconds', 0) for r in rs):>8.0f} {sum(1 for r in rs if r['tainted']):>7}")
if "sqlite" in med and "postgres" in med:
    pairs = {}
    for r in rows:
        pairs.setdefault(r["round"], {})[r["label"]] = r["ops_per_sec"]
    ratios = [p["postgres"] / p["sqlite"] for p in pairs.values() if "postgres" in p and "sqlite" in p]
    print(f"PostgreSQL ÷ SQLite: {med['postgres']/med['sqlite']:.2f}× (medians); per round {' '.join(f'{x:.2f}' for x in ratios)}")
EOF
log "raw results in $OUT"
