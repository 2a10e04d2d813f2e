#!/bin/sh
# Side by side, same session, same 1 GiB file: fio --ioengine=io_uring vs our UringFileEngine,
# 4 KiB random reads at QD32, buffered (file in page cache, fio --invalidate=0) and O_DIRECT.
# usage: tools/UringCompare/compare.sh [FILE=/var/tmp/pnvme-uring-1g.bin] [SECONDS=10]
# Needs: fio (apt-get install -y fio), python3, a Release build of this tool.
set -eu
FILE=${1:-/var/tmp/pnvme-uring-1g.bin}
SECS=${2:-10}
HERE=$(dirname "$(readlink -f "$0")")
dotnet build "$HERE/UringCompare.csproj" -c Release --nologo -v:q >/dev/null
OURS="$HERE/bin/Release/net10.0/UringCompare"

fio_run() { # $1 label, $2 direct(0|1), rest: extra fio options
    label=$1; direct=$2; shift 2
    fio --name=cmp --filename="$FILE" --size=1g --ioengine=io_uring --rw=randread --bs=4k --iodepth=32 \
        --direct="$direct" --invalidate=0 --time_based --runtime="$SECS" --ramp_time=1 --randrepeat=0 \
        --output-format=json "$@" > /tmp/pnvme-fio.json
    python3 - "$label" <<'PY'
import json, sys
j = json.load(open('/tmp/pnvme-fio.json'))['jobs'][0]
r = j['read']
ios, ms = r['total_ios'], r['runtime']
cpu = (j['usr_cpu'] + j['sys_cpu']) / 100 * ms * 1e6 / ios
p = r['lat_ns']['percentile'] if 'percentile' in r['lat_ns'] else r['clat_ns']['percentile']
print(f"{sys.argv[1]}: IOPS={r['iops']:.0f} usr={j['usr_cpu']:.1f}% sys={j['sys_cpu']:.1f}% cpu/io={cpu:.0f}ns "
      f"clat(us) p50={r['clat_ns']['percentile']['50.000000']/1000:.1f} p99={r['clat_ns']['percentile']['99.000000']/1000:.1f}")
PY
}

"$OURS" "$FILE" 1024 buffered 1 >/dev/null   # lays out the file (1 GiB of data) and warms the page cache
cat "$FILE" > /dev/null

echo "== buffered (page cache), 4k randread QD32, ${SECS}s each"
fio_run "fio io_uring (defaults)" 0
fio_run "fio io_uring (batch 32, fixedbufs, registerfiles)" 0 --iodepth_batch_submit=32 --iodepth_batch_complete_min=1 --fixedbufs --registerfiles
"$OURS" "$FILE" 1024 buffered "$SECS" 32 0 fixed
"$OURS" "$FILE" 1024 buffered "$SECS" 32 1 plain

echo "== O_DIRECT, 4k randread QD32, ${SECS}s each"
fio_run "fio io_uring (defaults)" 1
fio_run "fio io_uring (batch 32, fixedbufs, registerfiles)" 1 --iodepth_batch_submit=32 --iodepth_batch_complete_min=1 --fixedbufs --registerfiles
"$OURS" "$FILE" 1024 direct "$SECS" 32 0 fixed
"$OURS" "$FILE" 1024 direct "$SECS" 32 1 plain
