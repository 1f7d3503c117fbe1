#!/usr/bin/env bash
# Builds the host tier's guest: a Debian 13 (trixie) root file system with
# systemd-networkd, BIRD 3, babeld, wireguard-tools and nftables, booted by
# Debian 12's stock kernel (which ships wireguard.ko and dummy.ko) under QEMU.
#
#   tests/host/image.sh            # install host tools if missing, build if stale
#   HORTUS_HOST_IMAGE_REBUILD=1 tests/host/image.sh   # rebuild from scratch
#
# Output, in $HORTUS_DEPS_DIR/host-vm (default <repo>/.deps/host-vm, git-ignored):
#   vmlinuz, initrd.img (busybox: loads virtio + ext4, mounts /dev/vda),
#   rootfs.img (ext4, booted read-write with QEMU's snapshot=on: never changed),
#   stamp (hash of this script: a changed script rebuilds the image).
# The guest runs /mnt/host/guest.sh from a 9p share at boot (kernel argument
# `hortus_host_test`), copies its output to the share and powers off.
#
# Host side: Debian 12 amd64, root. Installs qemu-system-x86, debootstrap,
# e2fsprogs, cpio from the system's apt sources (if qemu-system-x86 cannot be
# installed system-wide, its .debs are unpacked into the image directory).
# The guest's packages come from the same Debian mirror (suite trixie).
# Environment: HORTUS_DEBIAN_MIRROR (default: the system's Debian mirror).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
DEPS=${HORTUS_DEPS_DIR:-$REPO/.deps}
OUT=$DEPS/host-vm
SUITE=trixie
GUEST_PKGS=systemd,systemd-sysv,udev,dbus,kmod,iproute2,wireguard-tools,bird3,babeld,nftables,iputils-ping,procps,jq
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin:/sbin" ;; esac
export DEBIAN_FRONTEND=noninteractive

log() { echo "[host-image $(date +%T)] $*" >&2; }
die() { echo "[host-image] ERROR: $*" >&2; exit 1; }

STAMP_WANT=$(sha256sum "$HERE/image.sh" | cut -d' ' -f1)
if [ "${HORTUS_HOST_IMAGE_REBUILD:-0}" != 1 ] && [ -f "$OUT/stamp" ] &&
    [ "$(cat "$OUT/stamp")" = "$STAMP_WANT" ] &&
    [ -f "$OUT/rootfs.img" ] && [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initrd.img" ]; then
    exit 0
fi
[ "$(id -u)" -eq 0 ] || die "building the guest image needs root (debootstrap, chroot)"
T0=$(date +%s)

# ---------------------------------------------------------------- host tools
pkg_installed() { [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ]; }
missing=()
for p in debootstrap e2fsprogs cpio gzip; do pkg_installed "$p" || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ] || ! command -v qemu-system-x86_64 >/dev/null; then
    log "apt-get install ${missing[*]} qemu-system-x86"
    apt-get update -qq
    [ "${#missing[@]}" -eq 0 ] || apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if ! command -v qemu-system-x86_64 >/dev/null &&
        ! apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null; then
        # e.g. a newer qemu-utils from backports Breaks bookworm's
        # qemu-system-common: unpack the debs instead (tests/host/run.sh
        # finds $OUT/qemu/usr/bin/qemu-system-x86_64).
        log "qemu-system-x86 not installable system-wide; unpacking it into $OUT/qemu"
        apt-get install -y -qq --no-install-recommends seabios ipxe-qemu libaio1 libbpf1 \
            libcapstone4 libfdt1 libfuse3-3 libglib2.0-0 libibverbs1 libjpeg62-turbo libnuma1 \
            libpixman-1-0 libpmem1 libpng16-16 librdmacm1 libsasl2-2 libseccomp2 libslirp0 \
            liburing2 libvdeplug2 libasound2 libbrlapi0.8 libcacard0 libcap-ng0 libepoxy0 \
            libgbm1 libsndio7.0 libspice-server1 libusb-1.0-0 libusbredirparser1 >/dev/null
        mkdir -p "$OUT/debs" "$OUT/qemu"
        (cd "$OUT/debs" && apt-get download qemu-system-x86 qemu-system-common qemu-system-data)
        for d in "$OUT"/debs/qemu-system-*.deb; do dpkg -x "$d" "$OUT/qemu"; done
    fi
fi

MIRROR=${HORTUS_DEBIAN_MIRROR:-}
if [ -z "$MIRROR" ]; then
    MIRROR=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
        grep -E '^[[:space:]]*(URIs:|deb )' | grep -oE 'https?://[^ ]+/debian/?' | head -1 || true)
    MIRROR=${MIRROR:-http://deb.debian.org/debian}
fi

# ------------------------------------------ kernel + busybox (dpkg -x only)
WORK=$OUT/build
rm -rf "$WORK"
mkdir -p "$WORK/debs" "$WORK/kernel" "$WORK/bb"
KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$KPKG" ] || { apt-get update -qq; KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}'); }
log "download $KPKG and busybox-static"
(cd "$WORK/debs" && apt-get download "$KPKG" busybox-static >/dev/null)
dpkg -x "$WORK"/debs/"$KPKG"_*.deb "$WORK/kernel"
dpkg -x "$WORK"/debs/busybox-static_*.deb "$WORK/bb"
KV=$(basename "$(ls -d "$WORK"/kernel/lib/modules/*)")

# ------------------------------------------------------------ root file system
R=$WORK/rootfs
log "debootstrap $SUITE from $MIRROR"
debootstrap --variant=minbase --include=$GUEST_PKGS $SUITE "$R" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -20 "$WORK/debootstrap.log"; die "debootstrap failed (log: $WORK/debootstrap.log)"; }

log "configure the guest (kernel $KV)"
# Kernel modules: only what a network test needs (~64 MB instead of ~390 MB).
S=$WORK/kernel/lib/modules/$KV D=$R/lib/modules/$KV
rm -rf "$D"
mkdir -p "$D/kernel/fs" "$D/kernel/drivers/net"
cp "$S"/modules.* "$D"/
cp -a "$S"/kernel/{net,lib,crypto,arch,virt,mm,block} "$D"/kernel/
for f in ext4 jbd2 mbcache.ko 9p fuse netfs fscache overlayfs nls autofs configfs; do
    [ -e "$S/kernel/fs/$f" ] && cp -a "$S/kernel/fs/$f" "$D/kernel/fs/"
done
cp -a "$S"/kernel/drivers/{virtio,block,char} "$D"/kernel/drivers/
for f in "$S"/kernel/drivers/net/*; do
    case ${f##*/} in wireless | ethernet | usb | can | wwan | ieee802154) ;; *) cp -a "$f" "$D/kernel/drivers/net/" ;; esac
done
chroot "$R" depmod -a "$KV"
echo hortus-host > "$R/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 hortus-host\n' > "$R/etc/hosts"
echo '/dev/vda / ext4 rw,noatime 0 1' > "$R/etc/fstab"
chroot "$R" passwd -d root >/dev/null
# Nothing of the mesh runs in the guest's own namespace: every node runs its
# own networkd and routing daemon in its namespace (tests/host/guest.sh).
for unit in systemd-networkd.service systemd-networkd.socket systemd-networkd-wait-online.service \
    bird.service babeld.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
    e2scrub_reap.service fstrim.timer systemd-timesyncd.service; do
    chroot "$R" systemctl mask "$unit" >/dev/null 2>&1 || true
done
cat > "$R/usr/local/sbin/hortus-host-test" <<'EOF'
#!/bin/sh
# Mounts the host share, runs its guest.sh, stores output + exit code there, powers off.
echo "HORTUS-HOST START uptime=$(cut -d' ' -f1 /proc/uptime)"
mkdir -p /mnt/host
modprobe 9pnet_virtio; modprobe 9p
if mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 hostshare /mnt/host; then
  cut -d' ' -f1 /proc/uptime > /mnt/host/boot-uptime
  /bin/bash /mnt/host/guest.sh > /mnt/host/result.log 2>&1; rc=$?
  echo $rc > /mnt/host/rc
  sync
else
  echo "HORTUS-HOST: cannot mount the 9p share"
fi
echo "HORTUS-HOST END uptime=$(cut -d' ' -f1 /proc/uptime)"
systemctl poweroff --no-block
EOF
chmod +x "$R/usr/local/sbin/hortus-host-test"
cat > "$R/etc/systemd/system/hortus-host-test.service" <<'EOF'
[Unit]
Description=run /mnt/host/guest.sh and power off
ConditionKernelCommandLine=hortus_host_test
After=basic.target dbus.service
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/hortus-host-test
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
[Install]
WantedBy=multi-user.target
EOF
chroot "$R" systemctl enable hortus-host-test.service >/dev/null 2>&1
chroot "$R" apt-get clean
rm -rf "$R"/var/lib/apt/lists/* "$R"/usr/share/doc/* "$R"/usr/share/man/* "$R"/usr/share/locale/*

log "ext4 image"
MB=$(($(du -sm "$R" | cut -f1) * 13 / 10 + 64))
truncate -s "${MB}M" "$WORK/rootfs.img"
mkfs.ext4 -q -F -L hortus-host -d "$R" "$WORK/rootfs.img"

log "busybox initramfs"
I=$WORK/initrd
mkdir -p "$I"/{bin,dev,proc,sys,newroot,lib/modules}
cp "$WORK/bb/bin/busybox" "$I/bin/"
: > "$I/modules.list"
for m in virtio_pci virtio_blk crc32c_generic ext4; do
    chroot "$R" modprobe -S "$KV" --show-depends $m | awk '$1=="insmod"{print $2}'
done | awk '!s[$0]++' | while read -r p; do
    cp "$R$p" "$I/lib/modules/"
    echo "${p##*/}" >> "$I/modules.list"
done
cat > "$I/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules.list); do insmod /lib/modules/$m 2>/dev/null; done
i=0; while [ ! -b /dev/vda ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
mount -t ext4 -o rw,noatime /dev/vda /newroot || { echo "initrd: cannot mount /dev/vda"; exec sh; }
umount /proc; mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/init
EOF
chmod +x "$I/init"
(cd "$I" && find . | cpio -o -H newc --quiet | gzip -1) > "$WORK/initrd.img"

mv "$WORK/rootfs.img" "$WORK/initrd.img" "$OUT/"
cp "$WORK/kernel/boot/vmlinuz-$KV" "$OUT/vmlinuz"
{
    echo "kernel $KV"
    chroot "$R" dpkg-query -W systemd bird3 babeld wireguard-tools nftables
} > "$OUT/versions"
rm -rf "$WORK"
echo "$STAMP_WANT" > "$OUT/stamp"
log "built in $(($(date +%s) - T0)) s: $(du -sh "$OUT/rootfs.img" | cut -f1) image; $(tr '\n' ' ' < "$OUT/versions")"
