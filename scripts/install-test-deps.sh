#!/usr/bin/env bash
# Install everything hortus' tests need on a Debian 12 (bookworm) machine.
#
#   scripts/install-test-deps.sh          # install / verify (idempotent)
#   HORTUS_DEPS_REFRESH=1 scripts/...     # re-download the private BIRD 3 tree
#
# What it does:
#   1. System packages from the machine's own Debian 12 apt sources
#      (apt-get update is run only when something is actually missing).
#   2. BIRD 3 (3.1.x) from Debian 13 "trixie", fetched with a *private* apt
#      configuration (own sources list, lists, cache, status and config parts
#      under $HORTUS_DEPS_DIR/apt) and unpacked with dpkg -x into
#      $HORTUS_DEPS_DIR/bird3-root together with the trixie libraries it links
#      against (including trixie's libc and dynamic loader).  Nothing is
#      installed system-wide and the system's apt state is never touched.
#      Wrappers $HORTUS_DEPS_DIR/bin/{bird,birdc} run the binaries through
#      the private loader.
#   3. Verifies the result (bird --version is 3.x, bird -p accepts a BIRD 3
#      babel config, every shared library resolves inside the private tree).
#
# Use `source scripts/env.sh` afterwards to get PATH, HORTUS_BIRD, ...
#
# Environment:
#   HORTUS_DEPS_DIR      cache dir (default: <repo>/.deps, git-ignored)
#   HORTUS_DEPS_REFRESH  1 = re-fetch and re-unpack BIRD 3 even if present
#   HORTUS_DEBIAN_MIRROR override the Debian mirror URI used for trixie
#                        (default: read from the system's apt sources)
#
# BIRD 3 babel syntax facts (checked with bird 3.1.8 `bird -p`):
#   interface "wg-*" { type tunnel; rtt cost 192; rtt min 10 ms;
#                      rtt max 300 ms; rtt decay 60; send timestamps yes;
#                      check link no; extended next hop yes; };
#   - `rtt min` / `rtt max` REQUIRE a time unit (s, ms or us):
#     `rtt max 300;` fails with "syntax error, unexpected ';', expecting S or MS or US".
#   - `rtt decay` is a plain number in 1..256 ("RTT decay must be between 1-256").
#   - `rtt cost` is a plain number; `type tunnel|wired|wireless` all accepted.
#   - hello/update intervals also take units: `hello interval 4 s;`.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEPS=${HORTUS_DEPS_DIR:-$REPO/.deps}
export DEBIAN_FRONTEND=noninteractive
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin:/sbin" ;; esac

log() { printf '[install-test-deps] %s\n' "$*" >&2; }
die() { printf '[install-test-deps] ERROR: %s\n' "$*" >&2; exit 1; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=(sudo -E); fi
fi

# --------------------------------------------------------------------------
# 1. System packages (Debian 12)
# --------------------------------------------------------------------------
REQUIRED_PKGS=(
    nix-bin            # nix-instantiate, for evaluating the nix module
    wireguard-go       # userspace WireGuard (no kernel module in containers)
    wireguard-tools    # wg, wg-quick
    babeld             # Babel routing daemon (1.12 in bookworm)
    nftables           # nft
    iperf3
    socat
    iproute2           # ip
    systemd            # /lib/systemd/systemd-networkd
    util-linux         # unshare, nsenter
    procps             # ps, pkill, sysctl
    iputils-ping       # ping
    debian-archive-keyring
    ca-certificates
)
OPTIONAL_PKGS=(tcpdump)

pkg_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ]
}

APT_UPDATED=0
system_apt_update() {
    if [ "$APT_UPDATED" -eq 0 ]; then
        log "apt-get update (system sources)"
        "${SUDO[@]}" apt-get update -qq || log "warning: apt-get update reported errors; continuing"
        APT_UPDATED=1
    fi
}

system_apt_install() {
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends "$@"
}

missing=()
for p in "${REQUIRED_PKGS[@]}"; do
    pkg_installed "$p" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing system packages: ${missing[*]}"
    system_apt_update
    system_apt_install "${missing[@]}"
fi

mkdir -p "$DEPS"
DEPS=$(cd "$DEPS" && pwd)
for p in "${OPTIONAL_PKGS[@]}"; do
    # Remember a failed optional install so later runs stay fast and offline.
    if ! pkg_installed "$p" && [ ! -e "$DEPS/.optional-failed-$p" ]; then
        log "installing optional package: $p"
        system_apt_update
        system_apt_install "$p" || { log "optional $p failed (ignored)"; : > "$DEPS/.optional-failed-$p"; }
    fi
done

# bookworm's keyring gained the trixie archive keys in 2023.3+deb12u2; an
# older keyring would make the private trixie `apt-get update` fail with
# NO_PUBKEY, so upgrade the (bookworm) keyring package if needed.
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
if [ ! -e /usr/share/keyrings/debian-archive-trixie-automatic.gpg ]; then
    log "debian-archive-keyring lacks trixie keys; upgrading it"
    system_apt_update
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --only-upgrade debian-archive-keyring
fi

# --------------------------------------------------------------------------
# 2. BIRD 3 from trixie, unpacked privately
# --------------------------------------------------------------------------
ARCH_TRIPLET=x86_64-linux-gnu
[ "$(dpkg --print-architecture)" = amd64 ] || die "only amd64 is supported for the private BIRD 3 tree"

# bird3 plus the full closure of shared libraries it links against (checked
# with `ld.so --list`): libssh pulls in OpenSSL (which needs zstd), zlib and
# MIT Kerberos.  libgcc-s1 is dlopen()ed by glibc for thread cancellation.
BIRD_PKGS=(
    bird3 libc6 libgcc-s1 libreadline8t64 libtinfo6 libssh-4
    libssl3t64 libzstd1 zlib1g
    libgssapi-krb5-2 libkrb5-3 libk5crypto3 libcom-err2 libkrb5support0 libkeyutils1
)

ROOT="$DEPS/bird3-root"
BIN="$DEPS/bin"
LIBDIR="$ROOT/usr/lib/$ARCH_TRIPLET"
STAMP="$ROOT/.hortus-stamp"
STAMP_WANT="packages: ${BIRD_PKGS[*]}"

# Find the Debian archive mirror the system already uses: the first enabled
# "deb" source whose suites contain the system's codename itself (so not the
# -security / -updates or third-party repositories).
find_debian_mirror() {
    local codename
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
    {
        # one-line format
        if [ -f /etc/apt/sources.list ]; then cat /etc/apt/sources.list; fi
        for f in /etc/apt/sources.list.d/*.list; do [ -f "$f" ] && cat "$f"; done
    } | awk -v cn="$codename" '
        /^[ \t]*deb[ \t]/ {
            sub(/^[ \t]*deb[ \t]+/, "");
            if ($0 ~ /^\[/) sub(/^\[[^]]*\][ \t]*/, "");
            if ($2 == cn) { print $1; exit }
        }'
    # deb822 format
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v cn="$codename" '
            function flush() {
                if (found) return;
                if (types ~ /(^| )deb( |$)/ && enabled != "no" && uris != "") {
                    n = split(suites, s, " ");
                    for (i = 1; i <= n; i++) if (s[i] == cn) { split(uris, u, " "); print u[1]; found = 1; exit }
                }
                types = ""; uris = ""; suites = ""; enabled = "";
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            {
                key = tolower($1); sub(/:$/, "", key);
                val = $0; sub(/^[^:]*:[ \t]*/, "", val);
                if (key == "types") types = val;
                else if (key == "uris") uris = val;
                else if (key == "suites") suites = val;
                else if (key == "enabled") enabled = tolower(val);
            }
            END { flush() }' "$f"
    done
}

bird_ok() {
    [ -x "$BIN/bird" ] && [ -x "$BIN/birdc" ] && [ -f "$STAMP" ] &&
        [ "$(head -n1 "$STAMP")" = "$STAMP_WANT" ] &&
        "$BIN/bird" --version 2>&1 | grep -q '^BIRD version 3\.'
}

fetch_bird3() {
    local mirror apt_dir conf
    mirror=${HORTUS_DEBIAN_MIRROR:-}
    if [ -z "$mirror" ]; then
        mirror=$(find_debian_mirror)
        mirror=${mirror%%$'\n'*}
    fi
    [ -n "$mirror" ] || die "could not find a Debian mirror in /etc/apt/sources.list{,.d}; set HORTUS_DEBIAN_MIRROR"
    mirror=${mirror%/}
    log "fetching BIRD 3 from $mirror trixie main (private apt state in $DEPS/apt)"

    apt_dir="$DEPS/apt"
    mkdir -p "$apt_dir/etc/apt.conf.d" "$apt_dir/etc/preferences.d" \
             "$apt_dir/etc/trusted.gpg.d" "$apt_dir/lists/partial" \
             "$apt_dir/cache/archives/partial" "$apt_dir/state" "$apt_dir/log" \
             "$apt_dir/debs"
    : > "$apt_dir/status"
    : > "$apt_dir/etc/apt.conf"
    rm -f "$apt_dir/cache/"*.bin

    # Signature verification stays ON: the bookworm debian-archive-keyring
    # (>= 2023.3+deb12u2, Debian 12.11) ships the trixie archive keys; checked:
    # with a keyring lacking them `apt-get update` fails with NO_PUBKEY.
    printf 'deb [signed-by=%s] %s trixie main\n' "$KEYRING" "$mirror" > "$apt_dir/sources.list"

    # A private main config file (APT_CONFIG) is read *before* the config
    # parts directory, so pointing Dir::Etc::Parts at an empty private dir
    # keeps all system apt.conf.d snippets (Post-Invoke hooks that clean the
    # system cache, packagekit/appstream refreshes, ...) out of the way.
    conf="$apt_dir/apt.conf"
    cat > "$conf" <<EOF
Dir::Etc::Main "$apt_dir/etc/apt.conf";
Dir::Etc::Parts "$apt_dir/etc/apt.conf.d";
Dir::Etc::SourceList "$apt_dir/sources.list";
Dir::Etc::SourceParts "/dev/null";
Dir::Etc::Preferences "$apt_dir/etc/preferences";
Dir::Etc::PreferencesParts "$apt_dir/etc/preferences.d";
Dir::Etc::Trusted "$apt_dir/etc/trusted.gpg";
Dir::Etc::TrustedParts "$apt_dir/etc/trusted.gpg.d";
Dir::State "$apt_dir/state";
Dir::State::Lists "$apt_dir/lists";
Dir::State::status "$apt_dir/status";
Dir::Cache "$apt_dir/cache";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Dir::Log "$apt_dir/log";
Acquire::Languages "none";
Acquire::GzipIndexes "true";
Acquire::IndexTargets::deb::DEP-11::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled "false";
Acquire::IndexTargets::deb::CNF::DefaultEnabled "false";
APT::Architecture "$(dpkg --print-architecture)";
APT::Architectures { "$(dpkg --print-architecture)"; };
// The private dirs may live below a home dir the _apt user cannot enter.
APT::Sandbox::User "root";
EOF
    # Keep the system's proxy settings, if any (read-only look-up).
    local http_proxy_conf="" https_proxy_conf=""
    eval "$(apt-config shell http_proxy_conf Acquire::http::Proxy https_proxy_conf Acquire::https::Proxy)"
    if [ -n "$http_proxy_conf" ]; then printf 'Acquire::http::Proxy "%s";\n' "$http_proxy_conf" >> "$conf"; fi
    if [ -n "$https_proxy_conf" ]; then printf 'Acquire::https::Proxy "%s";\n' "$https_proxy_conf" >> "$conf"; fi

    APT_CONFIG="$conf" apt-get -qq update
    rm -f "$apt_dir/debs/"*.deb
    (cd "$apt_dir/debs" && APT_CONFIG="$conf" apt-get -qq download "${BIRD_PKGS[@]}")

    local tmp="$ROOT.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    local deb
    for deb in "$apt_dir/debs/"*.deb; do
        dpkg -x "$deb" "$tmp"
    done
    {
        echo "$STAMP_WANT"
        for deb in "$apt_dir/debs/"*.deb; do basename "$deb"; done
    } > "$tmp/.hortus-stamp"
    rm -rf "$ROOT"
    mv "$tmp" "$ROOT"

    mkdir -p "$BIN"
    local prog
    for prog in bird birdc; do
        # Relative to the wrapper's own location, so the deps dir can move.
        cat > "$BIN/$prog.tmp" <<EOF
#!/bin/sh
# Generated by scripts/install-test-deps.sh: run Debian trixie's $prog with
# its own glibc/loader and libraries from ../bird3-root (not installed
# system-wide).
root=\$(cd "\$(dirname "\$(readlink -f "\$0")")/../bird3-root" && pwd) || exit 127
lib="\$root/usr/lib/$ARCH_TRIPLET"
exec "\$lib/ld-linux-x86-64.so.2" --library-path "\$lib" --argv0 "$prog" "\$root/usr/sbin/$prog" "\$@"
EOF
        chmod 0755 "$BIN/$prog.tmp"
        mv "$BIN/$prog.tmp" "$BIN/$prog"
    done
}

verify_bird3() {
    local exe out bad=0 tmpconf
    # Every library must resolve inside the private tree (no mixing with the
    # system's bookworm libraries).
    for exe in bird birdc; do
        out=$("$LIBDIR/ld-linux-x86-64.so.2" --library-path "$LIBDIR" --list "$ROOT/usr/sbin/$exe")
        if echo "$out" | grep -v 'linux-vdso' | grep -v -F "$ROOT/" | grep -q .; then
            log "$exe: libraries resolved outside $ROOT:"
            echo "$out" | grep -v 'linux-vdso' | grep -v -F "$ROOT/" >&2
            bad=1
        fi
    done
    [ "$bad" -eq 0 ] || die "incomplete BIRD 3 library closure; add the missing packages to BIRD_PKGS"

    out=$("$BIN/bird" --version 2>&1) || die "bird --version failed: $out"
    case "$out" in
        "BIRD version 3."*) ;;
        *) die "unexpected bird version: $out" ;;
    esac

    tmpconf=$(mktemp)
    cat > "$tmpconf" <<'EOF'
router id 192.0.2.1;
protocol device { }
protocol babel {
    ipv4 { import all; export all; };
    ipv6 { import all; export all; };
    interface "wg-*" {
        type tunnel; rtt cost 192; rtt max 300 ms; rtt decay 60;
        check link no; extended next hop yes;
    };
}
EOF
    if ! out=$("$BIN/bird" -p -c "$tmpconf" 2>&1); then
        rm -f "$tmpconf"
        die "bird -p rejected the reference babel config: $out"
    fi
    rm -f "$tmpconf"
    "$LIBDIR/ld-linux-x86-64.so.2" --library-path "$LIBDIR" --verify "$ROOT/usr/sbin/birdc" >/dev/null 2>&1 \
        || die "birdc cannot be loaded"
}

if [ "${HORTUS_DEPS_REFRESH:-0}" != 1 ] && bird_ok; then
    :
else
    fetch_bird3
    verify_bird3
fi

# --------------------------------------------------------------------------
# phantun (forwarded links in the lab, the forwarder unit checks): built
# from crates.io into a private root (about a minute on 2 cores); its
# binaries are `client` and `server` (as in nixpkgs), linked into $BIN as
# phantun_client and phantun_server (upstream's release names).
# --------------------------------------------------------------------------
PHANTUN_VERSION=0.8.1
PHANTUN_ROOT=$DEPS/phantun
phantun_ok() {
    [ -x "$PHANTUN_ROOT/bin/client" ] && [ -x "$PHANTUN_ROOT/bin/server" ] \
        && "$PHANTUN_ROOT/bin/client" --version 2>/dev/null | grep -q " $PHANTUN_VERSION\$"
}
if [ "${HORTUS_DEPS_REFRESH:-0}" = 1 ] || ! phantun_ok; then
    log "building phantun $PHANTUN_VERSION from crates.io into $PHANTUN_ROOT"
    cargo install --quiet --locked --force phantun --version "$PHANTUN_VERSION" --root "$PHANTUN_ROOT" \
        || die "cargo install phantun failed"
    phantun_ok || die "phantun $PHANTUN_VERSION not usable after install"
fi
mkdir -p "$BIN"
ln -sfn "$PHANTUN_ROOT/bin/client" "$BIN/phantun_client"
ln -sfn "$PHANTUN_ROOT/bin/server" "$BIN/phantun_server"

# --------------------------------------------------------------------------
# Rust tools: rustfmt and clippy, cargo-fuzz (scripts/test.sh runs them)
# --------------------------------------------------------------------------
if command -v rustup >/dev/null 2>&1; then
    rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
    rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
fi
cargo fmt --version >/dev/null 2>&1 || die "cargo fmt not available (rustup component add rustfmt)"
# cargo-fuzz for scripts/fuzz.sh (runs on stable with RUSTC_BOOTSTRAP=1; needs a C++ compiler for libFuzzer).
command -v g++ >/dev/null 2>&1 || { system_apt_update; "${SUDO[@]}" apt-get install -y --no-install-recommends g++; }
cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --version 0.13.2 --locked
cargo clippy --version >/dev/null 2>&1 || die "cargo clippy not available (rustup component add clippy)"

# --------------------------------------------------------------------------
# 3. Final report
# --------------------------------------------------------------------------
for c in wg wireguard-go babeld nft iperf3 socat ip unshare nsenter ping ps nix-instantiate; do
    command -v "$c" >/dev/null 2>&1 || die "command $c not found after install"
done
for c in phantun_client phantun_server; do
    [ -x "$BIN/$c" ] || die "$BIN/$c missing after install"
done
[ -x /lib/systemd/systemd-networkd ] || die "/lib/systemd/systemd-networkd missing"

log "ok: $("$BIN/bird" --version 2>&1), $(babeld -V 2>&1 || true), $(wg --version | cut -d' ' -f1-2), phantun $("$BIN/phantun_client" --version | cut -d" " -f3)"
log "use: source scripts/env.sh"
