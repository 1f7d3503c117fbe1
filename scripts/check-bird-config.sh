#!/usr/bin/env bash
# Usage: scripts/check-bird-config.sh FILE
# Parse-check a BIRD 3 config with `bird -p -c FILE` (the private trixie
# BIRD 3 installed by scripts/install-test-deps.sh). Exit 0 iff accepted;
# exit 2 if BIRD 3 is not installed. Errors look like
#   bird: ... <FATAL> FILE:LINE:COL syntax error, ...
set -euo pipefail
if [ "$#" -ne 1 ]; then
    echo "usage: $0 FILE" >&2
    exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/env.sh
source "$here/env.sh"
bird=${HORTUS_BIRD:-$HORTUS_DEPS_DIR/bin/bird}
if [ ! -x "$bird" ]; then
    echo "check-bird-config: $bird not found; run scripts/install-test-deps.sh" >&2
    exit 2
fi
if [ ! -r "$1" ]; then
    echo "check-bird-config: cannot read $1" >&2
    exit 2
fi
exec "$bird" -p -c "$1"
