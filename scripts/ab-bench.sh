#!/bin/sh
# Two builds of pnvme, the same bench job, alternating run by run (a shared or noisy machine
# drifts: only ratios taken minutes apart mean anything), then the medians and their ratio.
# usage: scripts/ab-bench.sh BEFORE AFTER [pnvme bench options...]
#   BEFORE, AFTER  a pnvme binary, or a worktree (its src/Bench/bin/Release/net10.0/pnvme; build it first)
#   no options: the default job, what `make run` runs (10 s, 4 KiB randrw 70/30 QD32, PI type 1, host verify)
# environment: ROUNDS=5 (runs of each build)
# example, issue 11's make-run target against main's build:
#   git worktree add /tmp/pnvme-main 88cfe5e && (cd /tmp/pnvme-main && make build)
#   scripts/ab-bench.sh /tmp/pnvme-main .
set -eu
[ $# -ge 2 ] || { sed -n '2,10p' "$0" >&2; exit 2; }
binary() {
    if [ -d "$1" ]; then echo "$1/src/Bench/bin/Release/net10.0/pnvme"; else echo "$1"; fi
}
BEFORE=$(binary "$1")
AFTER=$(binary "$2")
shift 2
ROUNDS=${ROUNDS:-5}
for b in "$BEFORE" "$AFTER"; do
    [ -x "$b" ] || { echo "ab-bench: '$b' is not an executable pnvme (run make build in that worktree)" >&2; exit 2; }
done
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
echo "== before: $BEFORE"
echo "== after:  $AFTER"
echo "== job: ${*:-(the default job)}; $ROUNDS rounds, alternating"
i=1
while [ "$i" -le "$ROUNDS" ]; do
    "$BEFORE" bench --progress=0 --output-format=json "$@" >"$OUT/before-$i.json"
    "$AFTER" bench --progress=0 --output-format=json "$@" >"$OUT/after-$i.json"
    i=$((i + 1))
done
python3 - "$OUT" "$ROUNDS" <<'PY'
import json, os, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])

def load(name):
    job = json.load(open(os.path.join(out, name + ".json")))["jobs"][0]
    r = {}
    for d in ("read", "write"):
        if job[d]["total_ios"]:
            r[d] = (job[d]["iops"], job[d]["clat_ns"].get("percentile", {}).get("99.000000", 0) / 1000)
    return r

runs = {k: [load(f"{k}-{i}") for i in range(1, rounds + 1)] for k in ("before", "after")}
dirs = [d for d in ("read", "write") if d in runs["before"][0]]
print(f"  {'round':>5}  " + "  ".join(f"{k} {d} IOPS / p99 us".rjust(34) for k in ("before", "after") for d in dirs))
for i in range(rounds):
    cells = [f"{runs[k][i][d][0]:>14,.0f} / {runs[k][i][d][1]:>10,.0f}".rjust(34) for k in ("before", "after") for d in dirs]
    print(f"  {i + 1:>5}  " + "  ".join(cells))
print("  medians (after / before):")
for d in dirs:
    b_iops = statistics.median(r[d][0] for r in runs["before"])
    a_iops = statistics.median(r[d][0] for r in runs["after"])
    b_p99 = statistics.median(r[d][1] for r in runs["before"])
    a_p99 = statistics.median(r[d][1] for r in runs["after"])
    print(f"  {d:<6} IOPS {b_iops:>12,.0f} -> {a_iops:>12,.0f}  x{a_iops / b_iops:.2f}    p99 {b_p99:>9,.0f} -> {a_p99:>9,.0f} us  x{a_p99 / b_p99:.2f}")
total_b = statistics.median(sum(r[d][0] for d in dirs) for r in runs["before"])
total_a = statistics.median(sum(r[d][0] for d in dirs) for r in runs["after"])
print(f"  total  IOPS {total_b:>12,.0f} -> {total_a:>12,.0f}  x{total_a / total_b:.2f}")
PY
