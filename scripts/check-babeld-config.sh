#!/usr/bin/env bash
# Usage: scripts/check-babeld-config.sh FILE
#
# Exit 0 iff babeld (1.12, Debian 12) parses FILE; 1 on a parse error;
# 2 if the check itself could not run.
#
# How: babeld has no dry-run flag (`babeld -h` takes an argument: the hello
# interval), but in babeld.c the -c files are parsed right after getopt and
# before anything with side effects, and a parse failure prints
#   Couldn't parse configuration from file F (error at line N).
# and exits 1.  The very next step opens the log file, so we pass
# `-L <nonexistent dir>/log`: a config that parsed makes babeld exit at once
# with "reopen_logfile(): No such file or directory" -- a positive "parsed OK"
# marker.  (If the config itself sets log-file, babeld keeps running and is
# stopped by a timeout; that also means it parsed.)  Anything after parsing
# (missing interfaces, sysctl/netlink/socket failures) is a runtime error and
# does NOT fail the check; it is printed as a note.
#
# babeld runs inside a throwaway network + mount + pid namespace
# (unshare -n -m -p) with fresh tmpfs on /run, /var/lib and /var/log, so it
# cannot touch the host's routes, sysctls, pid/state files or sockets, and is
# killed with the namespace. The config is handed in as /dev/fd/3.
set -uo pipefail

if [ "$#" -ne 1 ]; then
    echo "usage: $0 FILE" >&2
    exit 2
fi
file=$1
if [ ! -r "$file" ] || [ -d "$file" ]; then
    echo "check-babeld-config: cannot read $file" >&2
    exit 2
fi
PATH="$PATH:/usr/sbin:/sbin"
babeld=$(command -v babeld) || { echo "check-babeld-config: babeld not installed; run scripts/install-test-deps.sh" >&2; exit 2; }
secs=${HORTUS_BABELD_CHECK_SECONDS:-2}
start_marker="@@hortus-babeld-start@@"

# shellcheck disable=SC2016
out=$(unshare --net --mount --pid --fork --mount-proc --propagation private -- \
    bash -c '
        set -e
        for d in /run /var/lib /var/log; do mount -t tmpfs -o mode=0755 tmpfs "$d"; done
        mkdir -p /run/hortus-check
        echo "$1" >&2
        exec timeout -s TERM -k 1 "$2" "$3" -I "" -S /run/hortus-check/babel-state \
            -L /run/hortus-check/no-such-dir/log -c /dev/fd/3
    ' check "$start_marker" "$secs" "$babeld" 3<"$file" 2>&1)
rc=$?

case "$out" in
    *"$start_marker"*) ;;
    *)
        echo "check-babeld-config: could not start babeld in a sandbox (rc=$rc):" >&2
        printf '%s\n' "$out" >&2
        exit 2 ;;
esac
# Show messages with the real file name instead of /dev/fd/3.
out=$(printf '%s\n' "$out" | grep -v -F "$start_marker" | sed "s|/dev/fd/3|$file|g")

if printf '%s\n' "$out" | grep -q "^Couldn't parse configuration"; then
    printf '%s\n' "$out" >&2
    exit 1
fi
if [ "$rc" -eq 126 ] || [ "$rc" -eq 127 ]; then
    echo "check-babeld-config: babeld could not be executed (rc=$rc)" >&2
    printf '%s\n' "$out" >&2
    exit 2
fi
# Parsed OK.  Print anything but the expected post-parse marker as notes.
notes=$(printf '%s\n' "$out" | grep -v '^reopen_logfile(): No such file or directory$' | grep -v '^$' || true)
if [ -n "$notes" ]; then
    printf 'check-babeld-config: parsed OK; babeld runtime output (not an error):\n%s\n' "$notes" >&2
fi
exit 0
