#!/bin/sh
# pnvme bench vs fio, one run, same block size, queue depth, pattern and time:
#   1. the kernel path on the same file: pnvme --device=uring:FILE  vs  fio --ioengine=io_uring
#   2. no device at all:                 pnvme --device=null:      vs  fio --ioengine=null
# Both tools write fio-shaped JSON; one parser reads both and prints IOPS, p50/p99 latency,
# CPU per I/O and the pnvme/fio ratios.
# usage: scripts/compare-fio.sh  (environment: BS=4k QD=32 RW=randread RUNTIME=5 SIZE=1g FILE=/var/tmp/pnvme-compare.img DIRECT=0)
set -eu
BS=${BS:-4k}
QD=${QD:-32}
RW=${RW:-randread}
RUNTIME=${RUNTIME:-5}
SIZE=${SIZE:-1g}
FILE=${FILE:-/var/tmp/pnvme-compare.img}
DIRECT=${DIRECT:-0}
ROOT=$(dirname "$(readlink -f "$0")")/..
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

if ! command -v fio >/dev/null 2>&1; then
    echo "fio not found: installing it (apt-get install -y fio)" >&2
    apt-get install -y fio >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y fio >/dev/null; }
fi
if ! command -v python3 >/dev/null 2>&1; then
    apt-get install -y python3 >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y python3 >/dev/null; }
fi
dotnet build "$ROOT/src/Bench/PolledNvme.Bench.csproj" -c Release --nologo -v:q >/dev/null
PNVME="$ROOT/src/Bench/bin/Release/net10.0/pnvme"

# Lay the file out once with written data (pnvme's uring: size= does what fio's layout does),
# then read it through once so both tools start from the same page cache.
"$PNVME" bench --device="uring:$FILE,size=$SIZE" --rw=read --size=1m --progress=0 >/dev/null
cat "$FILE" >/dev/null

COMMON_FIO="--rw=$RW --bs=$BS --iodepth=$QD --runtime=$RUNTIME --time_based --randrepeat=0 --output-format=json"
COMMON_PNVME="--rw=$RW --bs=$BS --iodepth=$QD --runtime=$RUNTIME --time_based --progress=0 --output-format=json"

echo "== $RW bs=$BS iodepth=$QD ${RUNTIME}s each; file $FILE ($SIZE, direct=$DIRECT)"
"$PNVME" bench $COMMON_PNVME --name=pnvme-uring --device="uring:$FILE,direct=$DIRECT" >"$OUT/pnvme-uring.json"
fio --name=fio-uring --filename="$FILE" --size="$SIZE" --ioengine=io_uring --direct="$DIRECT" --invalidate=0 \
    --fixedbufs --registerfiles $COMMON_FIO >"$OUT/fio-uring.json"
"$PNVME" bench $COMMON_PNVME --name=pnvme-null --device="null:size=$SIZE" --host-pi=none >"$OUT/pnvme-null.json"
fio --name=fio-null --ioengine=null --size="$SIZE" $COMMON_FIO >"$OUT/fio-null.json"

python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]

def load(name):
    job = json.load(open(os.path.join(out, name + ".json")))["jobs"][0]
    ios = iops = 0.0
    p50 = p99 = 0.0
    for d in ("read", "write"):
        r = job[d]
        if r["total_ios"] == 0:
            continue
        ios += r["total_ios"]
        iops += r["iops"]
        pct = r["clat_ns"].get("percentile", {})
        p50 = max(p50, pct.get("50.000000", 0) / 1000)
        p99 = max(p99, pct.get("99.000000", 0) / 1000)
    runtime_s = max(job["read"]["runtime"], job["write"]["runtime"]) / 1000
    cpu_ns = (job["usr_cpu"] + job["sys_cpu"]) / 100 * runtime_s * 1e9 / ios if ios else 0
    return {"iops": iops, "p50": p50, "p99": p99, "cpu": cpu_ns}

def show(label, r):
    print(f"  {label:<14} IOPS={r['iops']:>11,.0f}  clat p50={r['p50']:8.1f}us p99={r['p99']:8.1f}us  cpu/io={r['cpu']:7.0f}ns")

for kind in ("uring", "null"):
    p, f = load("pnvme-" + kind), load("fio-" + kind)
    print(f"{kind}:")
    show("pnvme", p)
    show("fio", f)
    ratio = lambda a, b: a / b if b else float("nan")
    print(f"  ratio pnvme/fio: IOPS x{ratio(p['iops'], f['iops']):.2f}, p50 x{ratio(p['p50'], f['p50']):.2f}, "
          f"p99 x{ratio(p['p99'], f['p99']):.2f}, cpu/io x{ratio(p['cpu'], f['cpu']):.2f}")
PY
