# shellcheck shell=bash
# Source this file (bash) to get the environment hortus' tests expect:
#
#   source scripts/env.sh
#
# Exports HORTUS_DEPS_DIR, HORTUS_BIRD, HORTUS_BIRDC and puts
# $HORTUS_DEPS_DIR/bin (private BIRD 3 wrappers, phantun_client and
# phantun_server) first on PATH.
# Run scripts/install-test-deps.sh first.

if [ -n "${BASH_SOURCE[0]:-}" ]; then
    _hortus_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
else
    _hortus_repo=$(git rev-parse --show-toplevel 2>/dev/null || pwd)
fi

export HORTUS_REPO="${HORTUS_REPO:-$_hortus_repo}"
export HORTUS_DEPS_DIR="${HORTUS_DEPS_DIR:-$_hortus_repo/.deps}"
unset _hortus_repo

case ":$PATH:" in
    *":$HORTUS_DEPS_DIR/bin:"*) ;;
    *) PATH="$HORTUS_DEPS_DIR/bin:$PATH" ;;
esac
# babeld, nft, ip, ... live in sbin, which a non-login CI shell may lack.
case ":$PATH:" in *":/usr/sbin:"*) ;; *) PATH="$PATH:/usr/sbin" ;; esac
case ":$PATH:" in *":/sbin:"*) ;; *) PATH="$PATH:/sbin" ;; esac
export PATH

export HORTUS_BIRD="$HORTUS_DEPS_DIR/bin/bird"
export HORTUS_BIRDC="$HORTUS_DEPS_DIR/bin/birdc"

# Debian's nix-bin without nix-setup-systemd has no nixbld group; silence
# nix's "group 'nixbld' ... does not exist" warning on every evaluation.
if [ -z "${NIX_CONFIG:-}" ] && ! getent group nixbld >/dev/null 2>&1; then
    export NIX_CONFIG="build-users-group ="
fi
