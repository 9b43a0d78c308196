#!/usr/bin/env bash
# bench/ab.sh DIR_A DIR_B: A/B throughput of two Calmony Pay source trees, for a
# before/after check of a change (see BENCHMARKS.md, "Before and after a change").
# Make the "before" tree with: git worktree add /tmp/before <commit>
#
# Builds calmonypay and cmd/calmony-bench from each tree into $AB/bin-a and
# $AB/bin-b, then for ROUNDS rounds runs every scenario on A and on B back to
# back (order A,B in odd rounds, B,A in even rounds, to cancel drift). Every run
# gets a fresh server on a fresh SQLite data dir under $AB/work, started as
# bench/run.sh starts it (serve --data-dir … --addr 127.0.0.1:… --rate-limit 0).
# No stripe-mock, no PostgreSQL. Prints, per scenario, the median ops/s of A and
# B, the median of the per-round B/A ratios, and their min and max.
#
# Knobs (environment):
#   ROUNDS=5 DURATION=10s WARMUP=2s CONCURRENCY=64
#   SCENARIOS="customers.create customers.retrieve payment.flow"
#   BENCH_ARGS=""    more calmony-bench flags for every run, e.g. "-n 3000" for
#                    SCENARIOS=billing.renewals (set-up, then one timed advance)
#   BENCH_FROM=a     which load tool drives BOTH servers: a (default), b, or own
#                    (each side its own calmony-bench); one tool for both keeps
#                    the load generator, which shares the 2 CPUs, out of the diff
#   WAIT_IDLE=10s RETRIES=0   calmony-bench -wait-idle / -retries for each single run
#   PAIR_RETRIES=2   redo a whole A/B pair (both sides, same order) when either run
#                    was tainted (other processes used > 0.15 CPU), while time allows
#   BUDGET=690       seconds (from the start, builds included) within which pair
#                    redos are allowed; the planned pairs always run, so a quiet
#                    machine finishes the defaults in ~8 min and a busy one in ~12
#   AB=${TMPDIR:-/tmp}/calmony-ab   where builds, data and results go (never the repository)
#   OUT=$AB/results/<time>  raw JSON lines, server logs, summary
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 DIR_A DIR_B" >&2
	exit 2
fi
DIR_A=$(cd "$1" && pwd)
DIR_B=$(cd "$2" && pwd)

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONCURRENCY=${CONCURRENCY:-64}
SCENARIOS=${SCENARIOS:-customers.create customers.retrieve payment.flow}
BENCH_FROM=${BENCH_FROM:-a}
BENCH_ARGS=${BENCH_ARGS:-}
WAIT_IDLE=${WAIT_IDLE:-10s}
RETRIES=${RETRIES:-0}
PAIR_RETRIES=${PAIR_RETRIES:-2}
BUDGET=${BUDGET:-690}
AB=${AB:-${TMPDIR:-/tmp}/calmony-ab}
OUT=${OUT:-$AB/results/$(date -u +%Y%m%dT%H%M%SZ)}
PORT_A=18180 PORT_B=18181

mkdir -p "$OUT" "$AB/work"
SERVER_PID=""
cleanup() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	rm -rf "$AB/work"
}
trap cleanup EXIT

log() { printf '== %s\n' "$*" >&2; }

wait_http() { # URL
	for _ in $(seq 1 100); do
		curl -s -o /dev/null "$1" && return 0
		sleep 0.1
	done
	echo "no answer from $1" >&2
	return 1
}

build() { # SRC BIN
	log "building $1 -> $2"
	mkdir -p "$2"
	(cd "$1" && go build -o "$2/calmonypay" ./cmd/calmonypay && go build -o "$2/calmony-bench" ./cmd/calmony-bench)
}
build "$DIR_A" "$AB/bin-a"
build "$DIR_B" "$AB/bin-b"

bench_for() { # SIDE -> load tool path
	case $BENCH_FROM in
	a) echo "$AB/bin-a/calmony-bench" ;;
	b) echo "$AB/bin-b/calmony-bench" ;;
	own) echo "$AB/bin-$1/calmony-bench" ;;
	*) echo "BENCH_FROM must be a, b or own" >&2; exit 2 ;;
	esac
}

{
	echo "date:     $(date -u +%FT%TZ)"
	echo "machine:  $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)"
	echo "go:       $(go version)"
	echo "A:        $DIR_A @ $(git -C "$DIR_A" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "B:        $DIR_B @ $(git -C "$DIR_B" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "load:     c=$CONCURRENCY, $DURATION after $WARMUP warm-up, $ROUNDS rounds, ABBA order, load tool from: $BENCH_FROM, pair redos <= $PAIR_RETRIES within ${BUDGET}s${BENCH_ARGS:+, flags: $BENCH_ARGS}"
	echo "loadavg:  $(cat /proc/loadavg)"
} | tee "$OUT/machine.txt" >&2

# one SIDE ROUND SCENARIO FILE: fresh data dir, fresh server, one measured run
# appended to FILE.
one() {
	local side=$1 round=$2 sc=$3 file=$4 port bin data key
	bin="$AB/bin-$side/calmonypay"
	if [ "$side" = a ]; then port=$PORT_A; else port=$PORT_B; fi
	data=$(mktemp -d "$AB/work/$side-r$round-$sc.XXXX")
	"$bin" migrate --data-dir "$data" >/dev/null 2>&1
	key=$("$bin" keys create --mode test --data-dir "$data" 2>/dev/null | tail -1)
	"$bin" serve --data-dir "$data" --addr "127.0.0.1:$port" --rate-limit 0 >>"$OUT/server-$side.log" 2>&1 &
	SERVER_PID=$!
	wait_http "http://127.0.0.1:$port/"
	"$(bench_for "$side")" -label "$side" -url "http://127.0.0.1:$port" -key "$key" -pid "$SERVER_PID" \
		-scenario "$sc" -c "$CONCURRENCY" -d "$DURATION" -warmup "$WARMUP" \
		-wait-idle "$WAIT_IDLE" -retries "$RETRIES" $BENCH_ARGS -json |
		jq -c --argjson round "$round" '. + {round: $round}' >>"$file"
	tail -1 "$file" | jq -r '"   \(.label) r\(.round) \(.scenario): \(.ops_per_sec|floor) ops/s, failed \(.failed), other CPU \(.other_cores*100|floor/100), tainted \(.tainted), server cpu/op \(.server.cpu_per_op_us // 0 | floor) µs"' >&2
	kill "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=""
	rm -rf "$data"
}

total_pairs=$((ROUNDS * $(wc -w <<<"$SCENARIOS")))
done_pairs=0 pair_secs=0
for round in $(seq 1 "$ROUNDS"); do
	if [ $((round % 2)) -eq 1 ]; then order="a b"; else order="b a"; fi
	for sc in $SCENARIOS; do
		for attempt in $(seq 0 "$PAIR_RETRIES"); do
			t0=$SECONDS
			: >"$OUT/pair.jsonl"
			for side in $order; do
				log "round $round of $ROUNDS: $sc on $side, attempt $((attempt + 1))"
				one "$side" "$round" "$sc" "$OUT/pair.jsonl"
			done
			pair_secs=$((SECONDS - t0))
			tainted=$(jq -s 'map(select(.tainted)) | length' "$OUT/pair.jsonl")
			# time the remaining planned pairs will need, at this pair's pace
			left=$(((total_pairs - done_pairs - 1) * pair_secs))
			if [ "$tainted" -eq 0 ] || [ "$attempt" -ge "$PAIR_RETRIES" ] || [ $((SECONDS + pair_secs + left)) -gt "$BUDGET" ]; then
				cat "$OUT/pair.jsonl" >>"$OUT/results.jsonl"
				break
			fi
			log "tainted pair: redoing it"
			cat "$OUT/pair.jsonl" >>"$OUT/discarded.jsonl"
		done
		done_pairs=$((done_pairs + 1))
	done
done
rm -f "$OUT/pair.jsonl"
log "elapsed ${SECONDS}s"

python3 - "$OUT/results.jsonl" <<'EOF' | tee "$OUT/summary.txt"
import json, sys, statistics as st
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
scen = list(dict.fromkeys(r["scenario"] for r in rows))
print(f"{'scenario':<20} {'A ops/s':>9} {'B ops/s':>9} {'B/A med':>8} {'min':>6} {'max':>6} {'cpu/op B/A':>10} {'failed A/B':>10} {'tainted':>7} {'clean pairs: n, B/A med':>23}")
for s in scen:
    by = {}
    for r in rows:
        if r["scenario"] == s:
            by.setdefault(r["round"], {})[r["label"]] = r
    a = [by[k]["a"]["ops_per_sec"] for k in by if "a" in by[k]]
    b = [by[k]["b"]["ops_per_sec"] for k in by if "b" in by[k]]
    ratios = [by[k]["b"]["ops_per_sec"] / by[k]["a"]["ops_per_sec"] for k in by if "a" in by[k] and "b" in by[k] and by[k]["a"]["ops_per_sec"] > 0]
    cpu = [by[k]["b"]["server"]["cpu_per_op_us"] / by[k]["a"]["server"]["cpu_per_op_us"] for k in by
           if "a" in by[k] and "b" in by[k] and (by[k]["a"].get("server") or {}).get("cpu_per_op_us") and (by[k]["b"].get("server") or {}).get("cpu_per_op_us")]
    fa = sum(by[k]["a"]["failed"] for k in by if "a" in by[k])
    fb = sum(by[k]["b"]["failed"] for k in by if "b" in by[k])
    t = sum(1 for r in rows if r["scenario"] == s and r.get("tainted"))
    clean = [by[k]["b"]["ops_per_sec"] / by[k]["a"]["ops_per_sec"] for k in by
             if "a" in by[k] and "b" in by[k] and not by[k]["a"]["tainted"] and not by[k]["b"]["tainted"]]
    cl = f"{len(clean)}, {st.median(clean):.3f}" if clean else "0, -"
    print(f"{s:<20} {st.median(a):>9.0f} {st.median(b):>9.0f} {st.median(ratios):>8.3f} {min(ratios):>6.3f} {max(ratios):>6.3f} "
          f"{(st.median(cpu) if cpu else float('nan')):>10.3f} {f'{fa}/{fb}':>10} {t:>7} {cl:>23}")
print("B/A over 1 means B is faster; cpu/op B/A is the server's CPU per operation (under 1 is cheaper). Rounds:", len({r['round'] for r in rows}))
EOF
log "raw results in $OUT"
