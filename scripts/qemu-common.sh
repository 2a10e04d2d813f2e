#!/usr/bin/env bash
# Shared by scripts/qemu-test.sh (VFIO against QEMU's NVMe) and scripts/fabrics-test.sh (NVMe/TCP
# against Linux nvmet): the packages, the Debian kernel the guests boot, the NativeAOT guest
# program (tests/GuestTest), initramfs building blocks, and running QEMU with deadlines.
# Source it after setting `script` (the log prefix); it sets repo and cache. Needs bash.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${QEMU_CACHE:-$repo/.cache/qemu}
qemu_pid=

log() { printf '%s: %s\n' "$script" "$*"; }
die() { printf '%s: error: %s\n' "$script" "$*" >&2; exit 1; }

# install_packages PKG... : apt-get install what is missing (needs root).
install_packages() {
  local need=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
  [ ${#need[@]} -eq 0 ] && return
  [ "$(id -u)" -eq 0 ] || die "packages ${need[*]} are missing and installing them needs root"
  log "installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
}

# The Debian kernel that linux-image-amd64 depends on, unpacked with a fresh modules.dep; sets kdir, kver, vmlinuz.
fetch_kernel() {
  local pkg
  pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
  [ -n "$pkg" ] || die "apt-cache depends linux-image-amd64 names no kernel package (apt-get update?)"
  kdir=$cache/kernel/$pkg
  if [ ! -e "$kdir/.done" ]; then
    log "fetching $pkg"
    rm -rf "$kdir" && mkdir -p "$kdir" "$cache/deb"
    # apt's sandbox user cannot write into the cache; downloading as root is fine here.
    (cd "$cache/deb" && apt-get download -q "$pkg" >/dev/null 2>"$cache/apt-download.log") \
      || { cat "$cache/apt-download.log" >&2; die "apt-get download $pkg failed"; }
    dpkg -x "$cache"/deb/"${pkg}"_*.deb "$kdir"
    kver=$(ls "$kdir/lib/modules")
    depmod -b "$kdir" "$kver"
    touch "$kdir/.done"
  fi
  kver=$(ls "$kdir/lib/modules")
  vmlinuz=$kdir/boot/vmlinuz-$kver
  [ -f "$vmlinuz" ] || die "no kernel image $vmlinuz in $pkg"
}

# Publishes tests/GuestTest (NativeAOT) into $cache/guest, only when a source it is made of changed.
build_guest_program() {
  if [ -x "$cache/guest/pnvme-guest-test" ] && [ -z "$(find "$repo/src" "$repo/tests/GuestTest" "$repo/tests/Conformance" \
      "$repo/Directory.Build.props" "$repo/Directory.Packages.props" \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' \) \
      -not -path '*/obj/*' -not -path '*/bin/*' -newer "$cache/guest/pnvme-guest-test" -print -quit)" ]; then
    log "guest program up to date"
    return
  fi
  log "publishing tests/GuestTest (NativeAOT)"
  dotnet publish "$repo/tests/GuestTest/PolledNvme.GuestTest.csproj" -c Release -r linux-x64 \
    -p:PublishAot=true -p:InvariantGlobalization=true -p:StripSymbols=true \
    -o "$cache/guest" --nologo -v:q >"$cache/publish.log" 2>&1 \
    || { cat "$cache/publish.log" >&2; die "dotnet publish of the guest program failed"; }
}

# copy_libraries BINARY ROOT : the host binary's shared libraries (and the loader) into the initramfs root.
copy_libraries() {
  local binary=$1 root=$2 lib
  for lib in $(ldd "$binary" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}

# copy_binary BINARY ROOT : a host program into ROOT/bin with its libraries.
copy_binary() {
  cp "$1" "$2/bin/$(basename "$1")"
  copy_libraries "$1" "$2"
}

# initramfs_base ROOT MODULE... : busybox with its applets, the modules with their dependencies
# (busybox modprobe reads the modules.dep made here) and the guest program with its libraries.
initramfs_base() {
  local root=$1 mod line ko applet
  shift
  rm -rf "$root"
  mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc,lib/modules/"$kver"}
  cp /bin/busybox "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  for mod in "$@"; do
    while read -r line; do
      case $line in
        insmod\ *)
          ko=${line#insmod }; ko=${ko%% *}
          mkdir -p "$root$(dirname "${ko#"$kdir"}")"
          cp "$ko" "$root${ko#"$kdir"}"
          ;;
      esac
    done < <(modprobe -d "$kdir" -S "$kver" --show-depends "$mod")
  done
  cp "$kdir/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} "$root/lib/modules/$kver/"
  depmod -b "$root" "$kver"
  cp "$cache/guest/pnvme-guest-test" "$root/bin/"
  copy_libraries "$cache/guest/pnvme-guest-test" "$root"
}

# initramfs_pack ROOT CPIO : uncompressed (decompression is slow under TCG).
initramfs_pack() {
  (cd "$1" && find . | cpio -o -H newc --quiet >"$2")
}

# qemu_start CONSOLE QEMU_ARGS... : starts qemu-system-x86_64 in the background (TCG, no display,
# isa-debug-exit for the guest's report); the console goes to CONSOLE; sets qemu_pid.
qemu_start() {
  local out=$1
  shift
  qemu-system-x86_64 -machine q35,accel=tcg -cpu max -nographic -no-reboot \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 "$@" </dev/null >"$out" 2>&1 &
  qemu_pid=$!
}

# qemu_wait CONSOLE TIMEOUT BOOT_TIMEOUT : waits for the QEMU started last to exit; returns its
# status (2N+1 for a guest report N), 124 after TIMEOUT s, 125 when the guest's /init did not
# start (no 'init: ' line) within BOOT_TIMEOUT s. A QEMU that is still running then is killed.
qemu_wait() {
  local out=$1 timeout_s=$2 boot_timeout_s=$3 waited=0 rc=
  while kill -0 "$qemu_pid" 2>/dev/null; do
    sleep 1
    waited=$((waited + 1))
    if [ "$waited" -ge "$boot_timeout_s" ] && ! grep -q 'init: ' "$out"; then rc=125; break; fi
    if [ "$waited" -ge "$timeout_s" ]; then rc=124; break; fi
  done
  if [ -n "$rc" ]; then
    qemu_stop
  else
    wait "$qemu_pid" && rc=0 || rc=$?
  fi
  qemu_pid=
  return "$rc"
}

# qemu_stop : ends the QEMU started last (a test VM: nothing in it outlives the run).
qemu_stop() {
  if [ -n "$qemu_pid" ]; then
    kill "$qemu_pid" 2>/dev/null || true
    wait "$qemu_pid" 2>/dev/null || true
    qemu_pid=
  fi
}

# console_text IN OUT : the console without CRs and terminal escapes (SeaBIOS clears the screen).
console_text() {
  tr -d '\r' <"$1" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g' >"$2"
}
