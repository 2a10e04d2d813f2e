#!/bin/sh
# Regenerates tests/data/nvme-cli: nvme-cli's own output for pages pnvme decodes too, so the
# tests compare pnvme's id-ctrl/id-ns/nvm-id-ns/smart-log/error-log/get-log with nvme-cli's,
# field by field (names, JSON types, values) and line by line.
#
# nvme-cli cannot reach an emulated controller, so a small LD_PRELOAD shim (fake-nvme.c) answers
# its admin ioctls from page files. Two sets of pages:
#   emulated/   what pnvme's emulated controller returns (read with pnvme ... -b)
#   synthetic/  every field non-zero (make-pages.c), to exercise every decoder and type
#
# Needs: nvme-cli (Debian 12 ships 2.3, packaged as 2.4+really2.3), gcc, and ./bin/pnvme (make build).
# Usage: scripts/nvme-cli-golden.sh           regenerate (then review `git diff tests/data/nvme-cli`)
#        scripts/nvme-cli-golden.sh --check   run nvme-cli again on the stored pages and compare
#                                             with the stored outputs (exit 1 on a difference)
set -eu
cd "$(dirname "$0")/.."
OUT=tests/data/nvme-cli
PNVME=${PNVME:-./bin/pnvme}
DEVICE='mem:lbads=4096,ms=16,pi=1,pif=2,size=16M'
MODE=${1:-generate}
case $MODE in generate|--check) ;; *) echo "usage: $0 [--check]" >&2; exit 2 ;; esac

if [ "$MODE" = generate ]; then command -v nvme >/dev/null || apt-get install -y nvme-cli; fi
command -v nvme >/dev/null || { echo "nvme-cli is needed (apt-get install nvme-cli)" >&2; exit 2; }
command -v gcc >/dev/null || { echo "gcc is needed to build the ioctl shim (apt-get install gcc)" >&2; exit 2; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
gcc -shared -fPIC -O2 -Wall -o "$WORK/fake-nvme.so" scripts/nvme-cli-golden/fake-nvme.c -ldl
ln -s /dev/null "$WORK/nvme0"

nvme_cli() { # PAGES OUTPUT ARGS...: nvme-cli on the shim, answering from PAGES
	pages=$1 out=$2
	shift 2
	FAKE_NVME_DIR="$pages" LD_PRELOAD="$WORK/fake-nvme.so" nvme "$@" "$WORK/nvme0" > "$out"
}

decode() { # PAGES OUT: every output the tests compare with
	p=$1 o=$2
	nvme_cli "$p" "$o/id-ctrl.json" id-ctrl -o json
	nvme_cli "$p" "$o/id-ctrl.txt" id-ctrl
	nvme_cli "$p" "$o/id-ctrl.H.txt" id-ctrl -H
	nvme_cli "$p" "$o/id-ns.json" id-ns -n 1 -o json
	nvme_cli "$p" "$o/id-ns.txt" id-ns -n 1
	nvme_cli "$p" "$o/id-ns.H.txt" id-ns -n 1 -H
	nvme_cli "$p" "$o/nvm-id-ns.json" nvm-id-ns -n 1 -o json
	nvme_cli "$p" "$o/nvm-id-ns.txt" nvm-id-ns -n 1
	nvme_cli "$p" "$o/smart-log.json" smart-log -o json
	nvme_cli "$p" "$o/smart-log.H.json" smart-log -o json -H
	nvme_cli "$p" "$o/smart-log.txt" smart-log
	nvme_cli "$p" "$o/smart-log.H.txt" smart-log -H
	nvme_cli "$p" "$o/get-log-02.txt" get-log -i 2 -l 512
	nvme_cli "$p" "$o/error-log.json" error-log -e 4 -o json
	nvme_cli "$p" "$o/error-log.txt" error-log -e 4
}

if [ "$MODE" = --check ]; then
	status=0
	for set in emulated synthetic; do
		mkdir -p "$WORK/$set"
		decode "$OUT/$set" "$WORK/$set"
		for f in "$WORK/$set"/*; do
			cmp -s "$f" "$OUT/$set/$(basename "$f")" || { echo "differs: $OUT/$set/$(basename "$f")"; status=1; }
		done
	done
	[ $status = 0 ] && echo "tests/data/nvme-cli is what $(nvme version | head -1) prints for its pages"
	exit $status
fi

[ -x "$PNVME" ] || { echo "$PNVME is missing: run make build first" >&2; exit 2; }
gcc -O2 -Wall -o "$WORK/make-pages" scripts/nvme-cli-golden/make-pages.c
rm -rf "$OUT"
mkdir -p "$OUT/emulated" "$OUT/synthetic"
"$PNVME" id-ctrl "$DEVICE" -b > "$OUT/emulated/identify-cns01.bin"
"$PNVME" id-ns "$DEVICE" -n 1 -b > "$OUT/emulated/identify-cns00-nsid1.bin"
"$PNVME" nvm-id-ns "$DEVICE" -n 1 -o binary > "$OUT/emulated/identify-cns05-nsid1.bin"
"$PNVME" smart-log "$DEVICE" -b > "$OUT/emulated/log-02.bin"
"$PNVME" error-log "$DEVICE" -e 4 -b > "$OUT/emulated/log-01.bin"
"$WORK/make-pages" "$OUT/synthetic"
for set in emulated synthetic; do
	decode "$OUT/$set" "$OUT/$set"
done
nvme version > "$OUT/nvme-cli-version.txt"
echo "wrote $OUT ($(nvme version | head -1))"
