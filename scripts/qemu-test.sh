#!/usr/bin/env bash
# Runs the real VFIO path against QEMU's own NVMe controller: boots a software-emulated (TCG)
# q35 guest with a virtual IOMMU, binds the emulated NVMe to vfio-pci in the guest's /init,
# runs tests/GuestTest (NativeAOT, linked against the real driver) and reports through
# isa-debug-exit. One boot per nvme-ns configuration, each with a fresh backing image.
# Prints one summary line per configuration; exits non-zero on any failure.
#
# The boot configurations (name and nvme-ns properties) come from the guest program itself
# (pnvme-guest-test --boots, i.e. ConformanceFormat.QemuBoots), so they live in one place.
#
# Usage: scripts/qemu-test.sh [configuration-name ...]   (default: all)
# Env:   QEMU_CACHE (default .cache/qemu), QEMU_TIMEOUT seconds per boot (default 240),
#        QEMU_BOOT_TIMEOUT seconds for the guest kernel to reach /init (default 90; retried once),
#        QEMU_BENCH_SECONDS: instead of the checks, each boot runs 4 KiB randread through VFIO at
#        QD1 and QD32 (QD32 also with a doorbell per command, batch=0), with shadow doorbells off
#        (dbbuf=0) and on (dbbuf=1), then with dbbuf=1 at QD1 and QD32 with the queue pair sleeping
#        on its MSI-X interrupt (poll=adaptive, poll=interrupt), that many seconds each, in the same
#        boot; the bench-result lines are printed (use a boot without metadata: bs4096-ms0-sep-pi0-pil0-pif0-mdts10).
set -euo pipefail

script=qemu-test
# shellcheck source=scripts/qemu-common.sh
. "$(dirname "$0")/qemu-common.sh"
timeout_s=${QEMU_TIMEOUT:-240}
boot_timeout_s=${QEMU_BOOT_TIMEOUT:-90}
modules=(nvme vfio-pci vfio_iommu_type1 crct10dif_generic crc64_rocksoft_generic)
packages=(qemu-system-x86 busybox-static cpio kmod clang lld)

build_initramfs() {
  local root=$cache/initramfs
  initramfs_base "$root" "${modules[@]}"
  mkdir -p "$root/mnt/huge"
  # The guest binds the controller with our own setup script (bash, like on a real host).
  cp /bin/bash "$root/bin/bash"
  copy_libraries /bin/bash "$root"
  cp "$repo/scripts/setup-hugepages.sh" "$root/bin/setup-hugepages.sh"
  cat >"$root/init" <<'INIT'
#!/bin/sh
# Guest /init: load the NVMe driver, let scripts/setup-hugepages.sh reserve hugepages and move
# the controller (PCI class 0x010802) from nvme to vfio-pci, run the test program, hand the
# controller back with 'reset', and report through isa-debug-exit (QEMU exits with 2N+1).
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev; mount -t tmpfs tmp /tmp
report() { up report; printf "\\$(printf %03o "$1")" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null; poweroff -f; }
for mod in nvme crct10dif_generic crc64_rocksoft_generic; do
  modprobe "$mod" || { echo "init: modprobe $mod failed"; report 3; }
done
config=$(sed -n 's/.*pnvme_config=\([^ ]*\).*/\1/p' /proc/cmdline)
bdf=
for dev in /sys/bus/pci/devices/*; do
  [ "$(cat "$dev/class")" = 0x010802 ] && bdf=${dev##*/}
done
[ -n "$bdf" ] || { echo "init: no NVMe device (class 0x010802)"; report 4; }
up() { echo "init: uptime $(cut -d" " -f1 /proc/uptime) $*"; }
setup() { up "setup $*"; bash /bin/setup-hugepages.sh "$@" >/tmp/setup.log 2>&1; r=$?; sed 's/^/setup: /' /tmp/setup.log; return $r; }
HUGEMEM=128 HUGEPAGE_MOUNT=/mnt/huge setup config || { echo "init: setup-hugepages.sh config failed"; report 5; }
[ "$(basename "$(readlink /sys/bus/pci/devices/$bdf/driver)")" = vfio-pci ] || { echo "init: setup-hugepages.sh config did not bind $bdf"; report 5; }
setup status
bench=$(sed -n 's/.*pnvme_bench=\([0-9]*\).*/\1/p' /proc/cmdline)
if [ -n "$bench" ]; then
  rc=0
  for run in 1:1 32:1 32:0; do
    for dbbuf in 0 1; do
      /bin/pnvme-guest-test --bench "pci:$bdf,dbbuf=$dbbuf" "${run%:*}" "$bench" -1 "batch=${run#*:}" || rc=8
    done
  done
  # The same queue pair sleeping on its MSI-X completion interrupt (eventfd through VFIO).
  for poll in adaptive interrupt; do
    for qd in 1 32; do
      /bin/pnvme-guest-test --bench "pci:$bdf,dbbuf=1" "$qd" "$bench" -1 batch=1 "poll=$poll" || rc=8
    done
  done
else
  /bin/pnvme-guest-test "pci:$bdf" "$config"
  rc=$?
fi
setup reset || echo "init: setup-hugepages.sh reset failed"
if [ "$(basename "$(readlink /sys/bus/pci/devices/$bdf/driver)")" != nvme ]; then
  echo "init: setup-hugepages.sh reset did not give $bdf back to nvme"; [ "$rc" = 0 ] && rc=6
elif ! /bin/pnvme-guest-test --expect-unbound "pci:$bdf"; then
  [ "$rc" = 0 ] && rc=7
fi
report "$rc"
INIT
  chmod +x "$root/init"
  initramfs_pack "$root" "$cache/initramfs.cpio"
}

# Boots one configuration; prints its summary line; returns 0 on pass.
run_config() {
  local name=$1 props=$2 controller=$3 out=$cache/$1.log attempt rc start end summary secs
  for attempt in 1 2; do
    start=$(date +%s.%N)
    boot "$name" "$props" "$controller" "$out" && rc=0 || rc=$?
    end=$(date +%s.%N)
    console_text "$out" "$out.txt"
    # A kernel that panics while booting under a loaded TCG host is retried once; anything
    # after the guest program started is a result.
    if [ "$attempt" -eq 1 ] && ! grep -q '^init:' "$out.txt"; then
      if [ "$rc" -eq 0 ] && grep -q 'Kernel panic' "$out.txt"; then
        log "$name: the guest kernel panicked while booting ($(grep -o 'Kernel panic.*' "$out.txt" | head -n 1)); retrying once"
        continue
      fi
      if [ "$rc" -eq 125 ]; then
        log "$name: the guest kernel did not reach /init within ${boot_timeout_s} s; retrying once"
        continue
      fi
    fi
    break
  done
  grep -E '^(PASS (vfio|bar0|dma|controller-open|msix)|FAIL|DEVIATION|     |guest-summary|bench-result|init:|warning:|error:)' "$out.txt" | sed "s/^/  [$name] /" || true
  summary=$(grep -v 'guest-summary after-reset' "$out.txt" | grep -o 'guest-summary .*' | tail -n 1 | sed 's/^guest-summary [^:]*: //')
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  if [ "$rc" -eq 1 ]; then
    log "$name: PASS ($summary, ${secs} s)"
    return 0
  fi
  case $rc in
    124) log "$name: FAIL (timed out after ${timeout_s} s; console in $out)" ;;
    125) log "$name: FAIL (the guest kernel did not reach /init within ${boot_timeout_s} s, twice; console in $out)" ;;
    0) log "$name: FAIL (guest powered off without reporting; console in $out)" ;;
    *) log "$name: FAIL (guest reported $(((rc - 1) / 2)), ${summary:-no summary}, ${secs} s; console in $out)" ;;
  esac
  return 1
}

# One QEMU run with a fresh backing image; returns QEMU's exit status (2N+1 for guest report N),
# 124 when the whole run took longer than QEMU_TIMEOUT, 125 when the guest's /init did not
# start within QEMU_BOOT_TIMEOUT (a kernel stuck while booting on a loaded TCG host).
boot() {
  local name=$1 props=$2 controller=$3 out=$4 image=$cache/nvm-$1.img rc
  rm -f "$image" && truncate -s 64M "$image"
  qemu_start "$out" -smp 1 -m 1G -nic none -device intel-iommu,intremap=on \
    -kernel "$vmlinuz" -initrd "$cache/initramfs.cpio" \
    -append "console=ttyS0 panic=-1 quiet loglevel=4 intel_iommu=on iommu=pt no_timer_check edd=off pnvme_config=$name${QEMU_BENCH_SECONDS:+ pnvme_bench=$QEMU_BENCH_SECONDS}" \
    -drive "file=$image,if=none,id=nvm,format=raw" \
    -device "nvme,serial=deadbeef,id=nvme0,$controller" \
    -device "nvme-ns,drive=nvm,nsid=1,$props"
  qemu_wait "$out" "$timeout_s" "$boot_timeout_s" && rc=0 || rc=$?
  rm -f "$image"
  return "$rc"
}

main() {
  # Never leave a QEMU behind when interrupted.
  trap qemu_stop EXIT
  mkdir -p "$cache"
  install_packages "${packages[@]}"
  command -v dotnet >/dev/null || die "the .NET SDK (dotnet) is not on PATH"
  fetch_kernel
  build_guest_program
  build_initramfs
  local failed=0 passed=0 name props wanted boots
  boots=$("$cache/guest/pnvme-guest-test" --boots) || die "pnvme-guest-test --boots failed"
  while read -r name props controller; do
    if [ $# -gt 0 ]; then
      wanted=no
      for w in "$@"; do [ "$w" = "$name" ] && wanted=yes; done
      [ "$wanted" = yes ] || continue
    fi
    if run_config "$name" "$props" "$controller"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  done <<<"$boots"
  log "configurations: $passed passed, $failed failed"
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}

main "$@"
