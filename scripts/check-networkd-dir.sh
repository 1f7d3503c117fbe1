#!/usr/bin/env bash
# Usage: scripts/check-networkd-dir.sh DIR
#
# Lint a directory of systemd-networkd files (.netdev/.network) with the real
# parser: run /lib/systemd/systemd-networkd (systemd 252 on Debian 12) for a
# few seconds inside a throwaway mount + network + pid namespace
# (unshare -m -n -p --fork --mount-proc) with (a copy of) DIR bind-mounted
# over /etc/systemd/network and a fresh tmpfs on /run (so the host's
# /run/systemd/network, journal socket and D-Bus are hidden and the host's
# networkd state is untouched).  networkd logs to the console, e.g.
#   /etc/systemd/network/10-wg0.netdev:7: Unknown key 'ListenPortt' in section [WireGuard], ignoring.
#
# Exit 1 (printing them, with DIR's real path) if any diagnostic names a file
# in DIR -- both `file:line:` parse diagnostics and line-less semantic ones
# such as "...netdev: WireGuard peer ... ignoring".  The only exception is the
# file-permission warning "has 0644 mode that is too permissive" (it is about
# how the file was written to disk, not its content); it is printed as a note.
# Runtime failures (e.g. "wg0: netdev could not be created: Operation not
# supported" when the wireguard kernel module is unavailable) are not
# config errors and are ignored.  Exit 0 if clean, 2 if the check cannot run.
#
# Why a copy: networkd started as root drops to the systemd-network user
# *before* it reads its config, so root-owned 0600 files (e.g. netdevs with a
# PrivateKey=) would only give "Failed to open configuration file ...:
# Permission denied".  The copy keeps the modes but is chgrp'ed to
# systemd-network with g+r, i.e. installed the way production should
# (0640 root:systemd-network); world-readable files stay world-readable, so
# the "too permissive" note still reflects DIR.
#
# HORTUS_NETWORKD_CHECK_SECONDS (default 3) sets how long networkd runs.
set -uo pipefail

if [ "$#" -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
if [ ! -d "$1" ]; then
    echo "check-networkd-dir: $1 is not a directory" >&2
    exit 2
fi
dir=$(cd "$1" && pwd -P)
networkd=/lib/systemd/systemd-networkd
if [ ! -x "$networkd" ]; then
    echo "check-networkd-dir: $networkd missing; run scripts/install-test-deps.sh" >&2
    exit 2
fi
secs=${HORTUS_NETWORKD_CHECK_SECONDS:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/hortus-networkd-check.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
copy="$work/network"
cp -a "$dir" "$copy" || exit 2
chgrp -R systemd-network "$copy" 2>/dev/null || true
chmod -R g+rX "$copy"
chmod 0755 "$work" "$copy"
start_marker="@@hortus-networkd-start@@"
netdir=/etc/systemd/network

# shellcheck disable=SC2016
out=$(unshare --mount --net --pid --fork --mount-proc --propagation private -- \
    bash -c '
        set -e
        dir=$1 netdir=$2 secs=$3 networkd=$4 marker=$5
        mount -t tmpfs -o mode=0755 tmpfs /run
        # What systemd-networkd.service would set up (RuntimeDirectory=...).
        mkdir -p /run/systemd/netif/links /run/systemd/netif/leases /run/systemd/netif/lldp
        chown -R systemd-network:systemd-network /run/systemd/netif 2>/dev/null || true
        [ -d "$netdir" ] || mkdir -p "$netdir"
        mount --bind "$dir" "$netdir"
        echo "$marker"
        export SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_COLOR=0 SYSTEMD_LOG_LOCATION=0 SYSTEMD_LOG_TIME=0
        timeout -s TERM -k 1 "$secs" "$networkd" || true
    ' check "$copy" "$netdir" "$secs" "$networkd" "$start_marker" 2>&1)
rc=$?

case "$out" in
    *"$start_marker"*) ;;
    *)
        echo "check-networkd-dir: could not start systemd-networkd in a sandbox (rc=$rc):" >&2
        printf '%s\n' "$out" >&2
        exit 2 ;;
esac

# Report paths as DIR's, not the bind-mount target.
out=$(printf '%s\n' "$out" | grep -v -F "$start_marker" | sed "s|$netdir/|$dir/|g")

# Diagnostics naming a file that exists in DIR.
diags=""
notes=""
while IFS= read -r line; do
    [ -n "$line" ] || continue
    case "$line" in
        *"$dir/"*) ;;
        *) continue ;;
    esac
    # The named file must be one of DIR's entries (or a drop-in dir such as
    # foo.network.d/ in DIR).
    rest=${line#*"$dir/"}
    name=${rest%%[:/\'\"[:space:]]*}
    if [ -z "$name" ] || [ ! -e "$dir/$name" ]; then continue; fi
    case "$line" in
        *"mode that is too permissive"*) notes+="$line"$'\n' ;;
        *) diags+="$line"$'\n' ;;
    esac
done <<< "$out"

if [ -n "$notes" ]; then
    printf 'check-networkd-dir: note: %s' "$notes" >&2
fi
if [ -n "$diags" ]; then
    echo "check-networkd-dir: systemd-networkd reported problems in $dir:" >&2
    printf '%s' "$diags" >&2
    exit 1
fi
exit 0
