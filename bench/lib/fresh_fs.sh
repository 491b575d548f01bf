# shellcheck shell=bash
# A new, empty ext4 per measurement, so a benchmark does not inherit what
# earlier runs (or tools/test) left behind. The development VM's root file
# system is an ext4 without a journal: there, every inode allocation skips
# inodes freed in the last minutes (ext4's recently_deleted scan), which
# made mail-server figures depend on what was deleted before the run
# (docs/performance.md). mkfs defaults (journal, data=ordered) are what a
# mail spool runs on.
#
#   fs_fresh_possible            root, mkfs.ext4 and a free loop device?
#   fs_fresh DIR SIZE [OPTS]     new ext4 (image DIR.img, loop device with
#                                direct I/O) mounted at DIR; OPTS: more
#                                mkfs.ext4 options (e.g. "-N 2200000")
#   fs_release                   unmount and detach everything fs_fresh made;
#                                deletes the images unless FS_KEEP_IMAGES=1
#
# Sourced by bench/smtp_ingest.sh and bench/compare.

FS_MOUNTS=() FS_DEVS=() FS_IMAGES=()

fs_fresh_possible() {
  [ "$(id -u)" = 0 ] && command -v mkfs.ext4 >/dev/null && losetup -f >/dev/null 2>&1
}

# No lazy inode-table or journal initialisation: a background ext4lazyinit
# thread would compete with the server being measured.
fs_fresh() {
  local dir="$1" size="$2" opts="${3:-}" img="$1.img" dev
  truncate -s "$size" "$img" || return 1
  FS_IMAGES+=("$img")
  # shellcheck disable=SC2086  # OPTS is a list of options
  mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 $opts "$img" || return 1
  # mkfs wrote the image through the page cache: flush it now, or its
  # writeback (tens of MB of inode tables) would run during the measurement.
  sync "$img" || return 1
  dev=$(losetup -f --show --direct-io=on "$img") || return 1
  FS_DEVS+=("$dev")
  mkdir -p "$dir" && mount "$dev" "$dir" || return 1
  FS_MOUNTS+=("$dir")
}

fs_release() {
  local m d i
  for m in "${FS_MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m"; done
  for d in "${FS_DEVS[@]}"; do losetup -d "$d" 2>/dev/null; done
  if [ "${FS_KEEP_IMAGES:-0}" != 1 ]; then
    for i in "${FS_IMAGES[@]}"; do rm -f "$i"; done
  fi
  FS_MOUNTS=() FS_DEVS=() FS_IMAGES=()
}
