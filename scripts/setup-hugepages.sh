#!/usr/bin/env bash
# Prepares a Linux host for PolledNvme's user-space NVMe driver, like SPDK's scripts/setup.sh:
# reserves 2 MiB hugepages for DMA memory, mounts hugetlbfs, loads vfio-pci and binds NVMe
# controllers to it (and back). Every step is idempotent; --dry-run prints what would change.
#
#   scripts/setup-hugepages.sh [--dry-run] [config|status|reset|cleanup|help]
#
#   config   (default) reserve HUGEMEM MiB of 2 MiB pages, mount hugetlbfs if none is mounted,
#            load vfio-pci + vfio_iommu_type1, bind the NVMe controllers in PCI_ALLOWED (or every
#            NVMe controller whose namespaces are not mounted or in use) to vfio-pci.
#   status   hugepages per size, hugetlbfs mounts, IOMMU, NVMe controllers with driver and group.
#   reset    give the NVMe controllers bound to vfio-pci (or those in PCI_ALLOWED) back to nvme.
#   cleanup  release the 2 MiB hugepages and unmount the hugetlbfs this script mounted.
#
# Environment: HUGEMEM (MiB, default 2048), PCI_ALLOWED ("0000:01:00.0 0000:02:00.0"),
# HUGEPAGE_MOUNT (default /mnt/huge). SYSFS and PROCFS (default /sys, /proc) exist for tests.
set -euo pipefail

HUGEMEM=${HUGEMEM:-2048}
PCI_ALLOWED=${PCI_ALLOWED:-}
HUGEPAGE_MOUNT=${HUGEPAGE_MOUNT:-/mnt/huge}
SYSFS=${SYSFS:-/sys}
PROCFS=${PROCFS:-/proc}
NVME_CLASS=0x010802
dry_run=no
me=$(basename "$0")

info() { printf '%s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

usage() { sed -n '2,18s/^# \{0,1\}//p' "$0"; }

# Changes go through these two, so --dry-run shows every one and does none.
write_file() { # value path
  if [ "$dry_run" = yes ]; then info "would write '$1' to $2"; else printf '%s' "$1" >"$2"; fi
}
run() {
  if [ "$dry_run" = yes ]; then info "would run: $*"; else "$@"; fi
}

need_root() {
  [ "$dry_run" = yes ] && return 0
  [ "$(id -u)" -eq 0 ] || die "'$me $1' changes kernel settings and needs root: run 'sudo $0 $1' (or '$0 --dry-run $1' to see what it would do)."
}

pci_dev() { printf '%s/bus/pci/devices/%s' "$SYSFS" "$1"; }
driver_of() { # bdf -> driver name or empty
  local link
  link=$(readlink "$(pci_dev "$1")/driver" 2>/dev/null) || true
  [ -n "$link" ] && basename "$link"
  return 0
}
group_of() {
  local link
  link=$(readlink "$(pci_dev "$1")/iommu_group" 2>/dev/null) || true
  [ -n "$link" ] && basename "$link"
  return 0
}
iommu_present() { [ -n "$(ls -A "$SYSFS/kernel/iommu_groups" 2>/dev/null)" ]; }
no_iommu_message() {
  printf 'No IOMMU: %s/kernel/iommu_groups is empty, so VFIO cannot isolate devices. Enable VT-d/AMD-Vi in the firmware and boot with intel_iommu=on (Intel) or amd_iommu=on (AMD), plus iommu=pt.' "$SYSFS"
}

all_nvme() {
  local dev
  for dev in "$SYSFS"/bus/pci/devices/*; do
    [ -e "$dev/class" ] && [ "$(cat "$dev/class")" = "$NVME_CLASS" ] && basename "$dev"
  done
  return 0
}

# Prints why a controller is in use (a mounted, swapped-on or held namespace), or nothing.
in_use_reason() {
  local bdf=$1 blk name
  for blk in "$(pci_dev "$bdf")"/nvme/nvme*/nvme*n* "$(pci_dev "$bdf")"/nvme/nvme*/nvme*n*/nvme*n*p*; do
    [ -e "$blk" ] || continue
    name=$(basename "$blk")
    if grep -q "^/dev/$name " "$PROCFS/mounts" 2>/dev/null; then
      printf '/dev/%s is mounted on %s' "$name" "$(awk -v d="/dev/$name" '$1 == d { print $2; exit }' "$PROCFS/mounts")"; return
    fi
    if grep -q "^/dev/$name " "$PROCFS/swaps" 2>/dev/null; then printf '/dev/%s is in use as swap' "$name"; return; fi
    if [ -n "$(ls -A "$blk/holders" 2>/dev/null)" ]; then
      printf '/dev/%s is held by %s (LVM, md or dm)' "$name" "$(find "$blk/holders" -mindepth 1 -maxdepth 1 -printf '%f ' | sed 's/ $//')"; return
    fi
  done
}

# The controllers to bind: PCI_ALLOWED, or every NVMe controller not in use.
selected_nvme() {
  local bdf reason
  if [ -n "$PCI_ALLOWED" ]; then
    for bdf in $PCI_ALLOWED; do
      [ -d "$(pci_dev "$bdf")" ] || die "PCI_ALLOWED names $bdf, which does not exist (see 'lspci -D -d ::0108')."
      echo "$bdf"
    done
    return
  fi
  for bdf in $(all_nvme); do
    reason=$(in_use_reason "$bdf")
    if [ -n "$reason" ]; then info "skipping $bdf: $reason (name it in PCI_ALLOWED to force it)" >&2; continue; fi
    echo "$bdf"
  done
}

hugepage_dir() { printf '%s/kernel/mm/hugepages/hugepages-2048kB' "$SYSFS"; }

# The persistent pool: nr_hugepages counts surplus pages too (pages other processes still hold
# after a shrink, or got through overcommit); those go away when their holders exit.
persistent_hugepages() { # dir
  local surplus=0
  [ -r "$1/surplus_hugepages" ] && surplus=$(cat "$1/surplus_hugepages")
  echo $(($(cat "$1/nr_hugepages") - surplus))
}

reserve_hugepages() {
  local dir pages now got
  dir=$(hugepage_dir)
  [ -d "$dir" ] || die "this kernel has no 2 MiB hugepages ($dir is missing)."
  case $HUGEMEM in '' | *[!0-9]*) die "HUGEMEM must be a whole number of MiB, got '$HUGEMEM'." ;; esac
  pages=$(((HUGEMEM + 1) / 2))
  now=$(persistent_hugepages "$dir")
  if [ "$now" -eq "$pages" ]; then
    info "hugepages: $pages x 2 MiB already reserved"
  else
    write_file "$pages" "$dir/nr_hugepages"
    if [ "$dry_run" = no ]; then
      got=$(persistent_hugepages "$dir")
      if [ "$got" -lt "$pages" ]; then
        warn "only $got of $pages hugepages could be reserved (memory is fragmented or short): reserve them at boot with hugepages=$pages on the kernel command line, or lower HUGEMEM."
      else
        info "hugepages: $got x 2 MiB reserved (was $now)"
      fi
    fi
  fi
}

mount_hugetlbfs() {
  if grep -q ' hugetlbfs ' "$PROCFS/mounts" 2>/dev/null; then
    info "hugetlbfs: mounted at $(awk '$3 == "hugetlbfs" { print $2; exit }' "$PROCFS/mounts")"
    return
  fi
  run mkdir -p "$HUGEPAGE_MOUNT"
  run mount -t hugetlbfs -o pagesize=2M nodev "$HUGEPAGE_MOUNT"
  [ "$dry_run" = yes ] || info "hugetlbfs: mounted at $HUGEPAGE_MOUNT"
}

load_vfio() { # required: yes when controllers are waiting to be bound
  local required=$1 mod
  for mod in vfio_pci vfio_iommu_type1; do
    [ -d "$SYSFS/module/$mod" ] && continue
    if [ "$dry_run" = yes ]; then info "would run: modprobe $mod"; continue; fi
    if ! modprobe "$mod" 2>/dev/null; then
      if [ "$required" = yes ]; then die "modprobe $mod failed: install the kernel's modules (linux-image-$(uname -r)) or build VFIO in."; fi
      warn "modprobe $mod failed (no NVMe controller to bind, so continuing)."
    fi
  done
}

warn_group_members() {
  local bdf=$1 group member driver
  group=$(group_of "$bdf")
  [ -n "$group" ] || return 0
  for member in "$SYSFS/kernel/iommu_groups/$group/devices"/*; do
    [ -e "$member" ] || continue
    member=$(basename "$member")
    [ "$member" = "$bdf" ] && continue
    driver=$(driver_of "$member")
    case $driver in vfio-pci | pcieport | '') ;; *)
      warn "IOMMU group $group also holds $member (driver ${driver}): VFIO needs every device of the group bound to vfio-pci or to no driver; add it to PCI_ALLOWED or move the controller to another slot." ;;
    esac
  done
}

bind_vfio() {
  local bdf=$1 dev driver
  dev=$(pci_dev "$bdf")
  driver=$(driver_of "$bdf")
  if [ "$driver" = vfio-pci ]; then info "$bdf: already bound to vfio-pci (IOMMU group $(group_of "$bdf"))"; warn_group_members "$bdf"; return; fi
  write_file vfio-pci "$dev/driver_override"
  [ -n "$driver" ] && write_file "$bdf" "$dev/driver/unbind"
  write_file "$bdf" "$SYSFS/bus/pci/drivers_probe"
  if [ "$dry_run" = no ]; then
    [ "$(driver_of "$bdf")" = vfio-pci ] || die "$bdf did not bind to vfio-pci (now: $(driver_of "$bdf")); see 'dmesg | tail'."
    info "$bdf: ${driver:-no driver} -> vfio-pci (IOMMU group $(group_of "$bdf"))"
  fi
  warn_group_members "$bdf"
}

cmd_config() {
  need_root config
  local devices
  reserve_hugepages
  mount_hugetlbfs
  devices=$(selected_nvme)
  if [ -z "$devices" ]; then
    load_vfio no
    info "no NVMe controller to bind (set PCI_ALLOWED to choose one); hugepages are ready for the emulated controller."
    return
  fi
  iommu_present || die "$(no_iommu_message)"
  load_vfio yes
  local bdf
  for bdf in $devices; do bind_vfio "$bdf"; done
}

cmd_reset() {
  need_root reset
  local bdf dev targets=$PCI_ALLOWED
  if [ -z "$targets" ]; then
    for bdf in $(all_nvme); do [ "$(driver_of "$bdf")" = vfio-pci ] && targets="$targets $bdf"; done
  fi
  if [ -z "${targets// /}" ]; then info "no NVMe controller is bound to vfio-pci: nothing to reset"; return; fi
  for bdf in $targets; do
    dev=$(pci_dev "$bdf")
    [ -d "$dev" ] || die "PCI_ALLOWED names $bdf, which does not exist."
    if [ "$(driver_of "$bdf")" = nvme ]; then info "$bdf: already bound to nvme"; continue; fi
    # An empty driver_override lets the normal ID match (nvme) take the device again.
    if [ "$dry_run" = yes ]; then info "would clear $dev/driver_override"; else echo >"$dev/driver_override"; fi
    [ -n "$(driver_of "$bdf")" ] && write_file "$bdf" "$dev/driver/unbind"
    write_file "$bdf" "$SYSFS/bus/pci/drivers_probe"
    if [ "$dry_run" = no ]; then
      [ "$(driver_of "$bdf")" = nvme ] || warn "$bdf is now bound to '$(driver_of "$bdf")', not nvme: is the nvme module loaded (modprobe nvme)?"
      info "$bdf: -> $(driver_of "$bdf")"
    fi
  done
}

cmd_cleanup() {
  need_root cleanup
  local dir total free reserved
  dir=$(hugepage_dir)
  [ -d "$dir" ] || die "this kernel has no 2 MiB hugepages ($dir is missing)."
  total=$(cat "$dir/nr_hugepages"); free=$(cat "$dir/free_hugepages"); reserved=$(persistent_hugepages "$dir")
  if grep -q " $HUGEPAGE_MOUNT hugetlbfs " "$PROCFS/mounts" 2>/dev/null; then run umount "$HUGEPAGE_MOUNT"; fi
  if [ "$reserved" -le 0 ]; then info "hugepages: none reserved"; return; fi
  [ "$free" -lt "$total" ] && warn "$((total - free)) of $total hugepages are in use by running processes; they are released when those exit."
  write_file 0 "$dir/nr_hugepages"
  [ "$dry_run" = yes ] || info "hugepages: released (was $reserved x 2 MiB)"
}

cmd_status() {
  local dir size bdf dev blocks numa
  info "Hugepages"
  for dir in "$SYSFS"/kernel/mm/hugepages/hugepages-*; do
    [ -d "$dir" ] || continue
    size=${dir##*hugepages-}
    printf '  %-10s total %6s  free %6s\n' "$size" "$(cat "$dir/nr_hugepages")" "$(cat "$dir/free_hugepages")"
  done
  info "hugetlbfs mounts"
  awk '$3 == "hugetlbfs" { printf "  %s (%s)\n", $2, $4; n++ } END { if (!n) print "  none" }' "$PROCFS/mounts"
  if iommu_present; then info "IOMMU: on ($(find "$SYSFS/kernel/iommu_groups" -mindepth 1 -maxdepth 1 | wc -l) groups)"; else info "IOMMU: off or absent"; fi
  info "NVMe controllers (class $NVME_CLASS)"
  printf '  %-14s %-11s %-10s %-6s %-5s %s\n' BDF VENDOR:DEV DRIVER GROUP NUMA "BLOCK DEVICES"
  local any=no
  for bdf in $(all_nvme); do
    any=yes; dev=$(pci_dev "$bdf")
    blocks=$(for b in "$dev"/nvme/nvme*/nvme*n*; do if [ -e "$b" ]; then basename "$b"; fi; done | tr '\n' ' ')
    numa=$(cat "$dev/numa_node" 2>/dev/null || echo -)
    printf '  %-14s %-11s %-10s %-6s %-5s %s\n' "$bdf" \
      "$(sed 's/^0x//' "$dev/vendor" 2>/dev/null):$(sed 's/^0x//' "$dev/device" 2>/dev/null)" \
      "$(driver_of "$bdf" | grep . || echo -)" "$(group_of "$bdf" | grep . || echo -)" "$numa" "${blocks:--}"
  done
  [ "$any" = yes ] || info "  none"
}

main() {
  local cmd=config
  while [ $# -gt 0 ]; do
    case $1 in
      --dry-run | -n) dry_run=yes ;;
      config | status | reset | cleanup) cmd=$1 ;;
      help | -h | --help) usage; exit 0 ;;
      *) usage >&2; die "unknown argument '$1'." ;;
    esac
    shift
  done
  "cmd_$cmd"
}

main "$@"
