#!/bin/sh
# pnvme bench vs fio, one run, same block size, queue depth, pattern and time:
#   uring       the kernel path on the same file: pnvme --device=uring:FILE  vs  fio --ioengine=io_uring
#   null        no device at all:                 pnvme --device=null:      vs  fio --ioengine=null
#   emu         the emulated controller on a file, page cache, RW at QD: no PI, and PI type 1 (ms=8)
#               with host verify, vs pnvme --device=uring: on the same (no-PI) image file
#   emu-direct  emu: with O_DIRECT, randread and randwrite at QD vs fio io_uring --direct=1 on the same file
#   emu-scaling emu: O_DIRECT randread at QD 1, 4, 16, 64 beside fio at the same depths (table and plot)
# Both tools write fio-shaped JSON; one parser reads both and prints IOPS, p50/p99 latency,
# CPU per I/O and the ratios.
# usage: scripts/compare-fio.sh  (environment: BS=4k QD=32 RW=randread RUNTIME=5 SIZE=1g FILE=/var/tmp/pnvme-compare.img
#        DIRECT=0 SECTIONS="uring null emu emu-direct emu-scaling" SCALING_QDS="1 4 16 64"
#        POLL=spin|adaptive|interrupt: pnvme's --poll on the driver's devices (null:, emu:);
#        HOG=N: N CPU hogs (yes > /dev/null) run through every section, for both tools alike;
#        PNVME=path/to/pnvme: that build, e.g. another worktree's, instead of building this one)
# The emu images are FILE-emu.img (no PI; uring: and fio read the same file) and FILE-emupi.img (PI type 1).
set -eu
BS=${BS:-4k}
QD=${QD:-32}
RW=${RW:-randread}
RUNTIME=${RUNTIME:-5}
SIZE=${SIZE:-1g}
FILE=${FILE:-/var/tmp/pnvme-compare.img}
DIRECT=${DIRECT:-0}
SECTIONS=${SECTIONS:-uring null emu emu-direct emu-scaling}
SCALING_QDS=${SCALING_QDS:-1 4 16 64}
POLL=${POLL:-spin}
HOG=${HOG:-0}
EMU_FILE=${FILE%.img}-emu.img
EMU_PI_FILE=${FILE%.img}-emupi.img
ROOT=$(dirname "$(readlink -f "$0")")/..
OUT=$(mktemp -d)
HOGS=
trap 'rm -rf "$OUT"; [ -z "$HOGS" ] || kill $HOGS 2>/dev/null' EXIT

if ! command -v fio >/dev/null 2>&1; then
    echo "fio not found: installing it (apt-get install -y fio)" >&2
    apt-get install -y fio >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y fio >/dev/null; }
fi
if ! command -v python3 >/dev/null 2>&1; then
    apt-get install -y python3 >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y python3 >/dev/null; }
fi
if [ -z "${PNVME:-}" ]; then
    dotnet build "$ROOT/src/Bench/PolledNvme.Bench.csproj" -c Release --nologo -v:q >/dev/null
    PNVME="$ROOT/src/Bench/bin/Release/net10.0/pnvme"
fi

want() { case " $SECTIONS " in *" $1 "*) return 0;; esac; return 1; }
i=0
while [ "$i" -lt "$HOG" ]; do
    yes >/dev/null &
    HOGS="$HOGS $!"
    i=$((i + 1))
done
COMMON_FIO="--bs=$BS --runtime=$RUNTIME --time_based --randrepeat=0 --output-format=json"
COMMON_PNVME="--bs=$BS --runtime=$RUNTIME --time_based --progress=0 --output-format=json"
EMU_FORMAT="lbads=4096,size=$SIZE"
echo "== bs=$BS ${RUNTIME}s each; file $FILE ($SIZE); sections: $SECTIONS; pnvme --poll=$POLL; $HOG CPU hogs; pnvme: $PNVME"

if want uring || want null; then
    # Lay the file out once with written data (pnvme's uring: size= does what fio's layout does),
    # then read it through once so both tools start from the same page cache.
    "$PNVME" bench --device="uring:$FILE,size=$SIZE" --rw=read --size=1m --progress=0 >/dev/null
    cat "$FILE" >/dev/null
fi
if want uring; then
    "$PNVME" bench $COMMON_PNVME --rw="$RW" --iodepth="$QD" --name=pnvme-uring --device="uring:$FILE,direct=$DIRECT" >"$OUT/uring-pnvme.json"
    fio --name=fio-uring --filename="$FILE" --size="$SIZE" --ioengine=io_uring --direct="$DIRECT" --invalidate=0 \
        --fixedbufs --registerfiles --rw="$RW" --iodepth="$QD" $COMMON_FIO >"$OUT/uring-fio.json"
fi
if want null; then
    "$PNVME" bench $COMMON_PNVME --rw="$RW" --iodepth="$QD" --name=pnvme-null --device="null:size=$SIZE" --host-pi=none --poll="$POLL" >"$OUT/null-pnvme.json"
    fio --name=fio-null --ioengine=null --size="$SIZE" --rw="$RW" --iodepth="$QD" $COMMON_FIO >"$OUT/null-fio.json"
fi

if want emu || want emu-direct || want emu-scaling; then
    # Every block written once (a read of a deallocated block would skip the media and the PI check).
    "$PNVME" bench --device="emu:$EMU_FILE,$EMU_FORMAT,format=1" --rw=write --bs=128k --iodepth=8 --size="$SIZE" --progress=0 >/dev/null
fi
if want emu; then
    "$PNVME" bench --device="emu:$EMU_PI_FILE,$EMU_FORMAT,ms=8,pi=1,format=1" --rw=write --bs=128k --iodepth=8 --size="$SIZE" \
        --pract --progress=0 >/dev/null
    cat "$EMU_FILE" "$EMU_PI_FILE" >/dev/null
    "$PNVME" bench $COMMON_PNVME --rw="$RW" --iodepth="$QD" --name=uring --device="uring:$EMU_FILE,direct=0" >"$OUT/emu-uring.json"
    "$PNVME" bench $COMMON_PNVME --rw="$RW" --iodepth="$QD" --name=emu --device="emu:$EMU_FILE,direct=0" --poll="$POLL" >"$OUT/emu-nopi.json"
    "$PNVME" bench $COMMON_PNVME --rw="$RW" --iodepth="$QD" --name=emu-pi1 --device="emu:$EMU_PI_FILE,direct=0" --poll="$POLL" \
        --host-pi=verify --prchk=guard,reftag >"$OUT/emu-pi1.json"
fi
# fio drops the file's page cache before its job (--invalidate=1, its default); pnvme bench does not,
# and the layout above leaves the whole emu image cached. Both start their O_DIRECT jobs from an
# uncached file (an O_DIRECT write over cached pages must invalidate them first).
drop_cache() { dd if="$1" iflag=nocache count=0 status=none; }
if want emu-direct; then
    for rw in randread randwrite; do
        drop_cache "$EMU_FILE"
        "$PNVME" bench $COMMON_PNVME --rw=$rw --iodepth="$QD" --name=emu --device="emu:$EMU_FILE,direct=1" --poll="$POLL" >"$OUT/direct-$rw-emu.json"
        fio --name=fio --filename="$EMU_FILE" --size="$SIZE" --ioengine=io_uring --direct=1 --fixedbufs --registerfiles \
            --rw=$rw --iodepth="$QD" $COMMON_FIO >"$OUT/direct-$rw-fio.json"
    done
fi
if want emu-scaling; then
    for qd in $SCALING_QDS; do
        drop_cache "$EMU_FILE"
        "$PNVME" bench $COMMON_PNVME --rw=randread --iodepth=$qd --name=emu --device="emu:$EMU_FILE,direct=1" --poll="$POLL" >"$OUT/scaling-$qd-emu.json"
        fio --name=fio --filename="$EMU_FILE" --size="$SIZE" --ioengine=io_uring --direct=1 --fixedbufs --registerfiles \
            --rw=randread --iodepth=$qd $COMMON_FIO >"$OUT/scaling-$qd-fio.json"
    done
fi

python3 - "$OUT" "$RW" "$QD" "$SCALING_QDS" <<'PY'
import json, os, sys
out, rw, qd, scaling_qds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split()

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

def have(name):
    return os.path.exists(os.path.join(out, name + ".json"))

def ratio(a, b):
    return a / b if b else float("nan")

def compare(title, rows, against, target=None):
    """Rows (label, file) beside a reference row; ratios of each row to it (and the issue's target)."""
    if not all(have(f) for _, f in rows + [against]):
        return
    print(title)
    ref = load(against[1])
    show(against[0], ref)
    for label, f in rows:
        r = load(f)
        show(label, r)
        goal = f"  (target x{target:.2f})" if target else ""
        print(f"  {'':14} {label}/{against[0]}: IOPS x{ratio(r['iops'], ref['iops']):.2f}, p50 x{ratio(r['p50'], ref['p50']):.2f}, "
              f"p99 x{ratio(r['p99'], ref['p99']):.2f}, cpu/io x{ratio(r['cpu'], ref['cpu']):.2f}{goal}")

compare("uring (pnvme uring: vs fio io_uring):", [("pnvme", "uring-pnvme")], ("fio", "uring-fio"))
compare("null (pnvme null: vs fio null):", [("pnvme", "null-pnvme")], ("fio", "null-fio"))
compare(f"emu, page cache, {rw} QD{qd} (emu: vs pnvme uring: on the same file):",
        [("emu no PI", "emu-nopi"), ("emu PI1 verify", "emu-pi1")], ("uring", "emu-uring"), target=0.7)
for kind, target in (("randread", 0.9), ("randwrite", 0.8)):
    compare(f"emu, O_DIRECT, {kind} QD{qd} (emu: vs fio io_uring --direct=1):",
            [("emu", f"direct-{kind}-emu")], ("fio", f"direct-{kind}-fio"), target=target)

if all(have(f"scaling-{q}-{t}") for q in scaling_qds for t in ("emu", "fio")):
    print("emu, O_DIRECT, randread scaling (IOPS by queue depth):")
    rows = [(q, load(f"scaling-{q}-emu")["iops"], load(f"scaling-{q}-fio")["iops"]) for q in scaling_qds]
    print(f"  {'QD':>4} {'emu IOPS':>12} {'fio IOPS':>12} {'emu/fio':>8}")
    for q, e, f in rows:
        print(f"  {q:>4} {e:>12,.0f} {f:>12,.0f} {ratio(e, f):>8.2f}")
    top = max(max(e, f) for _, e, f in rows) or 1
    width = 50
    print("  plot (# emu, = fio):")
    for q, e, f in rows:
        print(f"  QD{q:<3} |{'#' * round(width * e / top):<{width}}| {e:,.0f}")
        print(f"        |{'=' * round(width * f / top):<{width}}| {f:,.0f}")
PY
