#!/usr/bin/env bash
# Proves the NVMe/TCP transport against Linux's own target in one TCG guest boot: the guest
# sets up nvmet through configfs (a subsystem open to any host, namespace 1 on a memory-backed
# null_blk, a TCP port on 4420), then
#   1. runs tests/GuestTest --fabrics (NativeAOT) against it over the guest's 127.0.0.1:
#      discovery, Identify, I/O round trips with digests off/on and SQ flow control on/off,
#      several I/O queues, Keep Alive across an idle period and its expiry, the port removed
#      mid-run and the reconnect;
#   2. prints nvme-cli's `nvme discover` (text and JSON) for the host to compare with pnvme's;
#   3. benchmarks 4 KiB random reads at QD1 and QD32: our initiator, then the kernel's
#      (connected through /dev/nvme-fabrics, fio with io_uring on the block device), same target;
# then the host reaches the same target through QEMU user networking (restrict=on: the guest
# reaches nothing outside; hostfwd 127.0.0.1:PORT → guest :4420) and runs pnvme's discover,
# id-ctrl, read/write/write-zeroes/dsm round trips and a short `pnvme bench --verify`.
# Only loopback addresses are ever a target. One line per check; the last line is
# "fabrics checks: N passed, N failed" (.ci/run adds them to its count); exits non-zero on a failure.
#
# Usage: scripts/fabrics-test.sh
# Env:   QEMU_CACHE (default .cache/qemu), FABRICS_TIMEOUT seconds for the whole boot (default 1200),
#        QEMU_BOOT_TIMEOUT (default 90), FABRICS_BENCH_SECONDS per benchmark run (default 5),
#        FABRICS_SMP guest CPUs (default 2: initiator and target each get one).
set -euo pipefail

script=fabrics-test
# shellcheck source=scripts/qemu-common.sh
. "$(dirname "$0")/qemu-common.sh"
timeout_s=${FABRICS_TIMEOUT:-1200}
boot_timeout_s=${QEMU_BOOT_TIMEOUT:-90}
bench_seconds=${FABRICS_BENCH_SECONDS:-5}
smp=${FABRICS_SMP:-2}
nqn=nqn.2024-01.io.polled-nvme:fabrics-test
modules=(nvmet nvmet-tcp null_blk nvme-fabrics nvme-tcp virtio_pci virtio_net crc32c_generic crc32c-intel)
packages=(qemu-system-x86 busybox-static cpio kmod clang lld fio nvme-cli)
passed=0
failed=0

check() { # check NAME PASS|FAIL DETAIL
  printf '%s %s: %s\n' "$2" "$1" "$3"
  if [ "$2" = PASS ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

build_initramfs() {
  local root=$cache/fabrics-initramfs
  initramfs_base "$root" "${modules[@]}"
  copy_binary "$(command -v fio)" "$root"
  copy_binary "$(command -v nvme)" "$root"
  cat >"$root/init" <<INIT
#!/bin/sh
# Guest /init of scripts/fabrics-test.sh: nvmet on null_blk over TCP, our checks, nvme-cli's
# discover, the benchmark (ours, then the kernel initiator with fio), then the host's turn.
NQN=$nqn
SECS=$bench_seconds
INIT
  cat >>"$root/init" <<'INIT'
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev; mount -t tmpfs tmp /tmp
up() { echo "init: uptime $(cut -d" " -f1 /proc/uptime) $*"; }
report() { up "report $1"; printf "\\$(printf %03o "$1")" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null; poweroff -f; }
for mod in virtio_pci virtio_net "null_blk nr_devices=0" nvmet nvmet-tcp nvme-fabrics nvme-tcp crc32c_generic; do
  modprobe $mod || { echo "init: modprobe $mod failed"; report 3; }
done
modprobe crc32c-intel 2>/dev/null
mount -t configfs none /sys/kernel/config || { echo "init: configfs"; report 3; }
ip link set lo up
ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up || { echo "init: no eth0"; report 4; }
mkdir -p /etc/nvme
echo "nqn.2024-01.io.polled-nvme:guest-kernel-initiator" > /etc/nvme/hostnqn
echo "8c4d5bb9-2cd8-4fdb-9fd1-63e0a7b0fd9e" > /etc/nvme/hostid
# A 512 MiB memory-backed null_blk with discard (deallocated blocks read back as zeros).
B=/sys/kernel/config/nullb/nullb0
mkdir $B && echo 512 > $B/size && echo 512 > $B/blocksize && echo 1 > $B/memory_backed && echo 1 > $B/discard && echo 1 > $B/power \
  || { echo "init: null_blk setup failed"; report 5; }
C=/sys/kernel/config/nvmet
S=$C/subsystems/$NQN
P=$C/ports/1
mkdir $S && echo 1 > $S/attr_allow_any_host && mkdir $S/namespaces/1 && echo -n /dev/nullb0 > $S/namespaces/1/device_path \
  && echo 1 > $S/namespaces/1/enable && mkdir $P && echo tcp > $P/addr_trtype && echo ipv4 > $P/addr_adrfam \
  && echo 0.0.0.0 > $P/addr_traddr && echo 4420 > $P/addr_trsvcid && ln -s $S $P/subsystems/$NQN \
  || { echo "init: nvmet setup failed"; report 6; }
up "target ready"
/bin/pnvme-guest-test --fabrics "tcp:127.0.0.1:4420/$NQN" "$P/subsystems/$NQN" "$S"
up "checks done"
[ -L "$P/subsystems/$NQN" ] || ln -s $S $P/subsystems/$NQN
echo "==== nvme-discover normal"; nvme discover -t tcp -a 127.0.0.1 -s 4420; echo "==== end"
echo "==== nvme-discover json"; nvme discover -t tcp -a 127.0.0.1 -s 4420 -o json; echo "==== end"
CPU=$(( $(nproc) - 1 ))
busy() { awk '/^cpu / { print $2+$3+$4+$7+$8+$9 }' /proc/stat; }
for qd in 1 32; do
  /bin/pnvme-guest-test --fabrics-bench "tcp:127.0.0.1:4420/$NQN,sqflow=0" $qd $SECS $CPU
done
nvme connect -t tcp -a 127.0.0.1 -s 4420 -n "$NQN" || echo "init: kernel initiator connect failed (nvme connect -t tcp)"
for i in $(seq 100); do [ -b /dev/nvme0n1 ] && break; sleep 0.1; done
if [ -b /dev/nvme0n1 ]; then
  for qd in 1 32; do
    b0=$(busy)
    fio --name=randread --filename=/dev/nvme0n1 --ioengine=io_uring --direct=1 --rw=randread --bs=4k --iodepth=$qd \
      --time_based --runtime=$SECS --ramp_time=1 --cpus_allowed=$CPU --output-format=json --output=/tmp/fio.json >/dev/null 2>&1
    b1=$(busy)
    echo "fio-result qd=$qd busy_jiffies=$((b1 - b0)) $(tr -d '\n' </tmp/fio.json | sed 's/ //g' \
      | grep -o '"read":{[^}]*' | head -n 1 | grep -o '"total_ios":[0-9]*\|"iops":[0-9.]*\|"runtime":[0-9]*' | tr '\n' ' ') \
      $(tr -d '\n' </tmp/fio.json | sed 's/ //g' | grep -o '"usr_cpu":[0-9.]*\|"sys_cpu":[0-9.]*' | head -n 2 | tr '\n' ' ') \
      $(tr -d '\n' </tmp/fio.json | sed 's/ //g' | grep -o '"lat_ns":{[^}]*' | head -n 1 | grep -o '"mean":[0-9.]*')"
  done
  echo 1 > /sys/class/nvme/nvme0/delete_controller
else
  echo "init: /dev/nvme0n1 did not appear"
fi
up "host-phase"
while true; do sleep 60; done
INIT
  chmod +x "$root/init"
  initramfs_pack "$root" "$cache/fabrics-initramfs.cpio"
}

# A free TCP port on the host's loopback for QEMU's hostfwd.
free_port() {
  local port hex
  while true; do
    port=$((20000 + RANDOM % 40000))
    hex=$(printf ':%04X ' "$port")
    grep -q "$hex" /proc/net/tcp /proc/net/tcp6 2>/dev/null || { echo "$port"; return; }
  done
}

# wait_console PATTERN SECONDS : waits for a console line while QEMU runs.
wait_console() {
  local waited=0
  while ! grep -q "$1" "$out" 2>/dev/null; do
    kill -0 "$qemu_pid" 2>/dev/null || return 1
    [ "$waited" -ge "$2" ] && return 1
    sleep 1
    waited=$((waited + 1))
  done
}

# The guest prints nvme-cli's output between "==== nvme-discover KIND" and "==== end".
guest_block() {
  awk -v kind="==== nvme-discover $1" '$0 == kind { on = 1; next } $0 == "==== end" { on = 0 } on' "$out.txt"
}

host_phase() {
  local pnvme=$repo/bin/pnvme dev=tcp:127.0.0.1:$port/$nqn work=$cache/fabrics-host start waited=0 got want
  rm -rf "$work" && mkdir -p "$work"
  # QEMU's user networking accepts before the guest listens: wait until an ICReq gets its ICResp.
  start=$(date +%s)
  until "$pnvme" discover "tcp:127.0.0.1:$port" >"$work/discover.txt" 2>"$work/discover.err"; do
    waited=$(( $(date +%s) - start ))
    if [ "$waited" -ge 120 ]; then check host-icresp FAIL "no ICResp through hostfwd within 120 s: $(tail -n 1 "$work/discover.err")"; return; fi
    sleep 1
  done
  check host-icresp PASS "127.0.0.1:$port → guest :4420 answered the ICReq after $(( $(date +%s) - start )) s"
  console_text "$out" "$out.txt"
  # The guest saw its own 127.0.0.1, the host comes in on 10.0.2.15: traddr aside, the logs must print alike.
  got=$(sed 's/^traddr:  .*/traddr:  X/' "$work/discover.txt")
  want=$(guest_block normal | sed 's/^traddr:  .*/traddr:  X/')
  if [ -n "$want" ] && [ "$got" = "$want" ]; then check host-discover PASS "pnvme discover prints what nvme discover prints ($(grep -c '^=====' "$work/discover.txt") records)"
  else check host-discover FAIL "differs from nvme-cli's: $(diff <(echo "$want") <(echo "$got") | head -n 6 | tr '\n' '|')"; fi
  "$pnvme" discover "tcp:127.0.0.1:$port" -o json >"$work/discover.json" 2>&1 || true
  got=$(tr -d ' \n\t' <"$work/discover.json" | sed 's/"traddr":"[^"]*"/"traddr":"X"/g')
  want=$(guest_block json | tr -d ' \n\t' | sed 's/"traddr":"[^"]*"/"traddr":"X"/g')
  if [ -n "$want" ] && [ "$got" = "$want" ]; then check host-discover-json PASS "pnvme discover -o json equals nvme discover -o json"
  else check host-discover-json FAIL "nvme-cli: ${want:0:200} pnvme: ${got:0:200}"; fi
  if "$pnvme" id-ctrl "$dev" >"$work/id-ctrl.txt" 2>&1 && grep -q '^mn        : Linux' "$work/id-ctrl.txt" && grep -q '^ioccsz    : 1028' "$work/id-ctrl.txt"; then
    check host-id-ctrl PASS "$(grep -m1 '^subnqn' "$work/id-ctrl.txt")"
  else check host-id-ctrl FAIL "$(tail -n 2 "$work/id-ctrl.txt" | tr '\n' '|')"; fi
  local keys
  for keys in "" ",hdgst=1,ddgst=1" ",sqflow=0"; do
    head -c 131072 /dev/urandom >"$work/in.bin"
    if "$pnvme" write "$dev$keys" -s 4096 -c 255 -z 131072 -d "$work/in.bin" >"$work/w.txt" 2>&1 \
      && "$pnvme" read "$dev$keys" -s 4096 -c 255 -z 131072 >"$work/out.bin" 2>"$work/r.txt" && cmp -s "$work/in.bin" "$work/out.bin"; then
      check "host-io[${keys:-,defaults}]" PASS "128 KiB written and read back with pnvme write/read, compared"
    else check "host-io[${keys:-,defaults}]" FAIL "$(cat "$work/w.txt" "$work/r.txt" | tail -n 2 | tr '\n' '|')"; fi
  done
  # 16 blocks at LBA 8192: written, then blocks 2-3 write-zeroed and 8-11 deallocated (null_blk
  # with discard reads them back as zeros), flushed, read back.
  head -c 8192 /dev/urandom >"$work/in.bin"
  local step failed_step=
  for step in "write $dev -s 8192 -c 15 -z 8192 -d $work/in.bin" "write-zeroes $dev -s 8194 -c 1" \
      "dsm $dev --slbs 8200 --blocks 4 --ad" "flush $dev"; do
    # shellcheck disable=SC2086 # the step is a word list
    "$pnvme" $step >"$work/step.txt" 2>&1 || { failed_step="pnvme $step: $(tail -n 1 "$work/step.txt")"; break; }
  done
  if [ -n "$failed_step" ]; then check host-write-zeroes-dsm-flush FAIL "$failed_step"
  elif ! "$pnvme" read "$dev" -s 8192 -c 15 -z 8192 >"$work/out.bin" 2>"$work/step.txt"; then
    check host-write-zeroes-dsm-flush FAIL "pnvme read: $(tail -n 1 "$work/step.txt")"
  elif { head -c 1024 "$work/in.bin"; head -c 1024 /dev/zero; tail -c +2049 "$work/in.bin" | head -c 2048; head -c 2048 /dev/zero
          tail -c +6145 "$work/in.bin"; } >"$work/expected.bin" && cmp -s "$work/expected.bin" "$work/out.bin"; then
    check host-write-zeroes-dsm-flush PASS "write zeroes (blocks 2-3) and deallocate (8-11) read back as zeros, the rest as written; flush"
  else check host-write-zeroes-dsm-flush FAIL "the 16 blocks read back differ from written + zeros at 2-3 and 8-11: $(cmp "$work/expected.bin" "$work/out.bin" 2>&1 | head -n 1)"; fi
  if "$pnvme" bench --device="$dev,ddgst=1" --rw=randrw --bs=4k --iodepth=16 --numjobs=2 --runtime=3 --size=64M --verify >"$work/bench.txt" 2>&1; then
    check host-bench-verify PASS "$(grep -m1 -i 'iops' "$work/bench.txt" | sed 's/^ *//')"
  else check host-bench-verify FAIL "$(tail -n 3 "$work/bench.txt" | tr '\n' '|')"; fi
}

print_bench() {
  local line qd iops cpu sys lat busy ios usr sysc runtime
  echo "benchmark (4 KiB randread, ${bench_seconds} s per run, same guest, same nvmet target; TCG: compare within this run only):"
  printf '  %-34s %4s %9s %9s %14s %14s\n' initiator QD IOPS 'lat us' 'proc CPU us/IO' 'guest CPU us/IO'
  echo "  (proc CPU: the initiator process's user+system time per I/O; guest CPU: all busy CPU time of the guest per I/O —"
  echo "   initiator, kernel TCP stack and nvmet target together, kernel worker threads included)"
  while read -r line; do
    qd=$(grep -o 'qd=[0-9]*' <<<"$line" | cut -d= -f2); iops=$(grep -o ' iops=[0-9]*' <<<"$line" | cut -d= -f2)
    lat=$(grep -o 'lat_us=[0-9.]*' <<<"$line" | cut -d= -f2); cpu=$(grep -o 'proc_cpu_us_per_io=[0-9.]*' <<<"$line" | cut -d= -f2)
    sys=$(grep -o ' sys_cpu_us_per_io=[0-9.]*' <<<"$line" | cut -d= -f2)
    printf '  %-34s %4s %9s %9s %14s %14s\n' "polled-nvme (user space, polled)" "$qd" "$iops" "$lat" "$cpu" "$sys"
  done < <(grep '^bench-result' "$out.txt")
  while read -r line; do
    qd=$(grep -o 'qd=[0-9]*' <<<"$line" | cut -d= -f2); busy=$(grep -o 'busy_jiffies=[0-9]*' <<<"$line" | cut -d= -f2)
    ios=$(grep -o '"total_ios":[0-9]*' <<<"$line" | cut -d: -f2); iops=$(grep -o '"iops":[0-9.]*' <<<"$line" | cut -d: -f2)
    runtime=$(grep -o '"runtime":[0-9]*' <<<"$line" | cut -d: -f2); usr=$(grep -o '"usr_cpu":[0-9.]*' <<<"$line" | cut -d: -f2)
    sysc=$(grep -o '"sys_cpu":[0-9.]*' <<<"$line" | cut -d: -f2); lat=$(grep -o '"mean":[0-9.]*' <<<"$line" | cut -d: -f2)
    [ -n "$ios" ] && [ "$ios" -gt 0 ] || continue
    printf '  %-34s %4s %9.0f %9.1f %14.1f %14.1f\n' "kernel nvme-tcp + fio io_uring" "$qd" "$iops" "$(awk -v l="$lat" 'BEGIN { print l / 1000 }')" \
      "$(awk -v u="$usr" -v s="$sysc" -v r="$runtime" -v n="$ios" 'BEGIN { print (u + s) / 100 * r * 1000 / n }')" \
      "$(awk -v b="$busy" -v n="$ios" -v r="$runtime" -v t="$bench_seconds" 'BEGIN { print b * 10000 / (n * (t + 1) / t) }')"
  done < <(grep '^fio-result' "$out.txt")
}

main() {
  trap qemu_stop EXIT
  mkdir -p "$cache"
  install_packages "${packages[@]}"
  command -v dotnet >/dev/null || die "the .NET SDK (dotnet) is not on PATH"
  [ -x "$repo/bin/pnvme" ] || (cd "$repo" && make build >/dev/null) || die "make build failed"
  fetch_kernel
  build_guest_program
  build_initramfs
  port=$(free_port)
  out=$cache/fabrics.log
  local start rc=0
  start=$(date +%s)
  log "booting (TCG, $smp CPUs); host reaches the target on 127.0.0.1:$port"
  qemu_start "$out" -smp "$smp" -m 1536M -kernel "$vmlinuz" -initrd "$cache/fabrics-initramfs.cpio" \
    -append "console=ttyS0 panic=-1 quiet loglevel=4 no_timer_check edd=off" \
    -netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$port-:4420" -device virtio-net-pci,netdev=n0
  if ! wait_console 'init: ' "$boot_timeout_s"; then
    check guest-boot FAIL "the guest did not reach /init within $boot_timeout_s s (console in $out)"
  elif ! wait_console 'init: .*host-phase' "$timeout_s"; then
    console_text "$out" "$out.txt"
    if kill -0 "$qemu_pid" 2>/dev/null; then
      check guest-run FAIL "the guest did not reach its host phase within $timeout_s s ($(grep -o 'init: .*' "$out.txt" | tail -n 1)); console in $out"
    else
      check guest-run FAIL "the guest stopped before its host phase ($(grep -o 'init: .*' "$out.txt" | tail -n 1)); console in $out"
    fi
  else
    host_phase
  fi
  qemu_stop
  console_text "$out" "$out.txt"
  while read -r line; do
    case $line in
      PASS\ *) check "$(sed 's/^PASS \([^:]*\):.*/\1/' <<<"$line")" PASS "$(sed 's/^PASS [^:]*: //' <<<"$line")" ;;
      FAIL\ *) check "$(sed 's/^FAIL \([^:]*\):.*/\1/' <<<"$line")" FAIL "$(sed 's/^FAIL [^:]*: //' <<<"$line")" ;;
    esac
  done < <(grep -E '^(PASS|FAIL) tcp-' "$out.txt")
  grep -E '^init: (modprobe|null_blk|nvmet|no eth0|kernel initiator|/dev/nvme0n1)' "$out.txt" | sed 's/^/  [guest] /' || true
  grep -q '^guest-summary fabrics' "$out.txt" || check guest-checks FAIL "the guest program printed no summary (console in $out)"
  print_bench
  [ "$(grep -c '^bench-result' "$out.txt")" -eq 2 ] && [ "$(grep -c '^fio-result' "$out.txt")" -eq 2 ] \
    || check guest-benchmark FAIL "the benchmark did not produce both initiators' results (console in $out)"
  log "one boot, $(( $(date +%s) - start )) s"
  log "fabrics checks: $passed passed, $failed failed"
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}

main "$@"
