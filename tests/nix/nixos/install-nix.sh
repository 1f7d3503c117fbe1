#!/usr/bin/env bash
# Installs Nix >= 2.18 for the whole-NixOS tier into a private prefix:
# Debian trixie's nix-bin (2.26) and the trixie libraries it links against,
# unpacked with dpkg -x (nothing installed system-wide, the system's apt state
# untouched), run through the prefix's own dynamic loader. Current nixpkgs
# refuses older Nix (lib/minfeatures.nix), and Debian 12 ships 2.8.
#
#   tests/nix/nixos/install-nix.sh DIR     # idempotent; prints DIR/bin
#
# Afterwards DIR/bin/{nix,nix-instantiate,nix-store,nix-build} are wrappers.
# Environment: HORTUS_DEBIAN_MIRROR (default: http://deb.debian.org/debian).
set -euo pipefail

dir=${1:?usage: install-nix.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
mirror=${HORTUS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
log() { printf '[install-nix] %s\n' "$*" >&2; }

if [ -x "$dir/bin/nix-instantiate" ] && "$dir/bin/nix-instantiate" --version 2>/dev/null | grep -q ' 2\.2[0-9]\.'; then
    echo "$dir/bin"
    exit 0
fi
[ "$(dpkg --print-architecture)" = amd64 ] || { log "only amd64 is supported"; exit 1; }
[ -e /usr/share/keyrings/debian-archive-trixie-automatic.gpg ] ||
    log "warning: debian-archive-keyring lacks the trixie keys (scripts/install-test-deps.sh upgrades it)"

log "fetching nix-bin from $mirror trixie main into $dir"
apt_dir=$dir/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts" "$apt_dir/debs"
: >"$apt_dir/status"
printf 'deb [signed-by=%s] %s trixie main\n' "$keyring" "$mirror" >"$apt_dir/sources.list"
cat >"$apt_dir/apt.conf" <<EOF
Dir::Etc::Parts "$apt_dir/parts";
Dir::Etc::SourceList "$apt_dir/sources.list";
Dir::Etc::SourceParts "/dev/null";
Dir::State::Lists "$apt_dir/lists";
Dir::State::status "$apt_dir/status";
Dir::Cache "$apt_dir/cache";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
Acquire::IndexTargets::deb::DEP-11::DefaultEnabled "false";
Acquire::IndexTargets::deb::CNF::DefaultEnabled "false";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
APT::Sandbox::User "root";
EOF
export APT_CONFIG=$apt_dir/apt.conf
apt-get -qq update
# nix-bin and every library in its dependency closure (the Perl bindings,
# PAM and installer libraries are not needed by the binaries).
libs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances --no-pre-depends nix-bin | grep -E '^lib[a-z0-9]' | sort -u |
    grep -vE '^(libdbi-perl|libdbd-sqlite3-perl|libwww-curl-perl|libperl.*|libpam-.*|libdebconfclient0|libdebian-installer4|libsemanage.*|libnewt.*|libtextwrap1|libslang2|libaudit.*)$')
rm -f "$apt_dir/debs/"*.deb
# shellcheck disable=SC2086
(cd "$apt_dir/debs" && apt-get -qq download nix-bin $libs)
root=$dir/root
rm -rf "$root.tmp"
mkdir -p "$root.tmp"
for deb in "$apt_dir/debs/"*.deb; do dpkg -x "$deb" "$root.tmp"; done
rm -rf "$root"
mv "$root.tmp" "$root"

lib=$root/usr/lib/x86_64-linux-gnu
mkdir -p "$dir/bin"
for tool in nix nix-instantiate nix-build nix-store; do
    cat >"$dir/bin/$tool" <<EOF
#!/bin/sh
# Debian trixie's $tool, with its own loader and libraries (tests/nix/nixos/install-nix.sh).
exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib" --argv0 $tool "$root/usr/bin/$tool" "\$@"
EOF
    chmod +x "$dir/bin/$tool"
done
"$dir/bin/nix-instantiate" --version >&2
echo "$dir/bin"
