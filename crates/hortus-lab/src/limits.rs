//! Host limits a big lab runs into.
//!
//! Every wireguard-go process holds one inotify instance (it watches its
//! control socket's directory), and Linux allows a user only
//! `fs.inotify.max_user_instances` of them, 128 by default. Past that,
//! wireguard-go creates its interface and socket, fails with "Failed to
//! listen on uapi socket: too many open files" and exits, taking the
//! interface with it: a 12-node lab (132 interfaces) broke on its 129th.

use crate::error::{LabError, Result};
use std::path::Path;

/// The sysctl limiting inotify instances per user.
pub const INOTIFY_INSTANCES: &str = "/proc/sys/fs/inotify/max_user_instances";
/// Instances that must stay free for everything else the user runs, or
/// the limit is raised.
const MARGIN: u64 = 16;
/// Instances left free for everything else after raising the limit.
const HEADROOM: u64 = 128;

/// Raises `fs.inotify.max_user_instances` when `needed` more inotify
/// instances do not fit beside those in use (with a small margin). Returns the change
/// made as `(old, new)`, or `None` when the limit was already enough. The
/// limit is left raised after the lab goes down (another lab may rely on it).
pub fn ensure_inotify_instances(needed: u64) -> Result<Option<(u64, u64)>> {
    let path = Path::new(INOTIFY_INSTANCES);
    let text = std::fs::read_to_string(path).map_err(|e| LabError::io(path, e))?;
    let current: u64 = text.trim().parse().map_err(|_| LabError::io(path, std::io::Error::other("not a number")))?;
    let wanted = wanted_limit(current, inotify_instances_in_use(), needed);
    if wanted == current {
        return Ok(None);
    }
    std::fs::write(path, format!("{wanted}\n")).map_err(|e| {
        LabError::Usage(format!(
            "the lab needs {needed} wireguard-go processes, each holding an inotify instance, but \
             fs.inotify.max_user_instances is {current} and raising it to {wanted} failed: {e}"
        ))
    })?;
    Ok(Some((current, wanted)))
}

/// The limit to set: `current` if `in_use + needed` fit with [`MARGIN`] to
/// spare, else that sum plus [`HEADROOM`].
fn wanted_limit(current: u64, in_use: u64, needed: u64) -> u64 {
    if in_use + needed + MARGIN <= current {
        current
    } else {
        in_use + needed + HEADROOM
    }
}

/// Inotify instances open in processes of this effective user (an
/// instance shared by several processes counts once per process, which
/// only overestimates).
fn inotify_instances_in_use() -> u64 {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut count = 0;
    for proc in procs.flatten() {
        let mine = proc.metadata().is_ok_and(|m| m.uid() == euid);
        let is_pid = proc.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit());
        if !(mine && is_pid) {
            continue;
        }
        for fd in std::fs::read_dir(proc.path().join("fd")).into_iter().flatten().flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|t| t.as_os_str() == "anon_inode:inotify") {
                count += 1;
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raises_only_when_short() {
        // 12 nodes: 132 wireguard-go processes do not fit the default 128.
        assert_eq!(wanted_limit(128, 0, 132), 260);
        assert_eq!(wanted_limit(128, 10, 90), 128, "10 nodes fit");
        assert_eq!(wanted_limit(128, 30, 90), 248, "not with 30 in use");
        assert_eq!(wanted_limit(100_000, 10, 992), 100_000);
    }

    #[test]
    fn counts_an_open_instance() {
        // SAFETY: inotify_init1 has no preconditions; the fd is closed below.
        let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC) };
        assert!(fd >= 0);
        assert!(inotify_instances_in_use() >= 1);
        // SAFETY: `fd` is ours and open.
        unsafe { libc::close(fd) };
    }
}
