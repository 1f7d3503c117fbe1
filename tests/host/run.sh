#!/usr/bin/env bash
# The host tier: hortus' rendered files on real hosts. Boots a Debian 13
# guest under QEMU (TCG unless KVM works) whose stock kernel has WireGuard
# and dummy, and runs tests/host/guest.sh in it: a four-node mesh (one NAT'd)
# where every node runs its own systemd-networkd on exactly the files
# `hortus render --format networkd` writes, then BIRD 3, then babeld.
#
#   bash tests/host/run.sh          # as root; builds the image on first use
#
# Environment:
#   HORTUS_BIN          the hortus binary to test (default: cargo build --release)
#   HORTUS_DEPS_DIR     where the guest image is cached (default <repo>/.deps)
#   HORTUS_HOST_ACCEL   tcg or kvm (default: kvm only if /dev/kvm is usable)
#   HORTUS_HOST_MEM     guest MiB (default 768), HORTUS_HOST_SMP vCPUs (default 2)
#   HORTUS_HOST_TIMEOUT seconds for the whole VM run (default 600)
#   HORTUS_HOST_PHASES  which parts run (default "bird babeld lifecycle exit endpoints";
#                       "debug" dumps routes, WireGuard state and logs)
# Logs of the last run: target/host-tier/{result,serial}.log.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
DEPS=${HORTUS_DEPS_DIR:-$REPO/.deps}
IMG=$DEPS/host-vm
MEM=${HORTUS_HOST_MEM:-768}
SMP=${HORTUS_HOST_SMP:-2}
TIMEOUT=${HORTUS_HOST_TIMEOUT:-600}
LOGS=$REPO/target/host-tier
log() { echo "[host-tier $(date +%T)] $*" >&2; }

[ "$(id -u)" -eq 0 ] || { echo "host tier: needs root (image build, QEMU)" >&2; exit 1; }

t=$(date +%s)
bash "$HERE/image.sh"
log "guest image ready ($(($(date +%s) - t)) s): $(tr '\n' ' ' < "$IMG/versions")"

if [ -z "${HORTUS_BIN:-}" ]; then
    (cd "$REPO" && cargo build --release --bin hortus)
    HORTUS_BIN=$REPO/target/release/hortus
fi

if command -v qemu-system-x86_64 >/dev/null; then
    QEMU=(qemu-system-x86_64)
else
    QEMU=("$IMG/qemu/usr/bin/qemu-system-x86_64" -L /usr/share/seabios -L "$IMG/qemu/usr/share/qemu" -L /usr/lib/ipxe/qemu)
fi
ACCEL=${HORTUS_HOST_ACCEL:-}
if [ -z "$ACCEL" ]; then
    if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then ACCEL=kvm; else ACCEL=tcg; fi
fi
if [ "$ACCEL" = kvm ]; then ACC=(-accel kvm -cpu host); else ACC=(-accel tcg,thread=multi -cpu max); fi

share=$(mktemp -d "${TMPDIR:-/tmp}/hortus-host.XXXXXX")
trap 'rm -rf "$share"' EXIT
mkdir -p "$share/bin" "$LOGS"
cp "$HORTUS_BIN" "$share/bin/hortus"
cp "$HERE/guest.sh" "$HERE"/*.toml "$share/"
if [ -n "${HORTUS_HOST_PHASES:-}" ]; then printf 'PHASES=%q\n' "$HORTUS_HOST_PHASES" > "$share/env"; fi

log "boot: accel=$ACCEL smp=$SMP mem=${MEM}M (waiting for /tmp/hortus-vm.lock)"
rc=0
t0=$(date +%s.%N)
flock /tmp/hortus-vm.lock \
    timeout "$TIMEOUT" "${QEMU[@]}" "${ACC[@]}" -smp "$SMP" -m "$MEM" -nographic -no-reboot \
    -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img" \
    -append "console=ttyS0 panic=-1 loglevel=4 hortus_host_test systemd.mask=serial-getty@ttyS0.service" \
    -drive "file=$IMG/rootfs.img,format=raw,if=virtio,snapshot=on" \
    -virtfs "local,path=$share,mount_tag=hostshare,security_model=none,id=hostshare" \
    -nic none </dev/null > "$LOGS/serial.log" 2>&1 || rc=$?
wall=$(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $t0}")
cp "$share/result.log" "$LOGS/result.log" 2>/dev/null || : > "$LOGS/result.log"

if [ ! -f "$share/rc" ]; then
    log "no result from the guest (qemu rc=$rc after $wall s); serial log tail:"
    tail -40 "$LOGS/serial.log" >&2
    cat "$LOGS/result.log"
    exit 1
fi
grep -E '^(=====|PASS|FAIL|RESULT|guest test time)' "$LOGS/result.log"
log "VM wall time $wall s (boot to test start $(cat "$share/boot-uptime") s guest uptime); full log: $LOGS/result.log"
exit "$(cat "$share/rc")"
