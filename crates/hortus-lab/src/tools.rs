//! The programs the lab runs, and whether they are installed.

use hortus_plan::Plan;
use hortus_plan::RoutingDaemon;
use hortus_plan::Transport;
use std::path::{Path, PathBuf};

/// Environment variable naming the BIRD 3 binary (else `bird` on PATH).
pub const BIRD_ENV: &str = "HORTUS_BIRD";

/// The BIRD 3 binary: `$HORTUS_BIRD`, else `bird`.
pub fn bird() -> String {
    std::env::var(BIRD_ENV).ok().filter(|b| !b.is_empty()).unwrap_or_else(|| RoutingDaemon::Bird.program().into())
}

/// Environment variable naming phantun's client binary (else `phantun_client` on PATH).
pub const PHANTUN_CLIENT_ENV: &str = "HORTUS_PHANTUN_CLIENT";
/// Environment variable naming phantun's server binary (else `phantun_server` on PATH).
pub const PHANTUN_SERVER_ENV: &str = "HORTUS_PHANTUN_SERVER";

/// phantun's client: `$HORTUS_PHANTUN_CLIENT`, else `phantun_client`.
pub fn phantun_client() -> String {
    std::env::var(PHANTUN_CLIENT_ENV).ok().filter(|b| !b.is_empty()).unwrap_or_else(|| "phantun_client".into())
}

/// phantun's server: `$HORTUS_PHANTUN_SERVER`, else `phantun_server`.
pub fn phantun_server() -> String {
    std::env::var(PHANTUN_SERVER_ENV).ok().filter(|b| !b.is_empty()).unwrap_or_else(|| "phantun_server".into())
}

/// The babeld binary.
pub fn babeld() -> String {
    RoutingDaemon::Babeld.program().into()
}

/// The routing daemon's binary.
pub fn daemon_binary(daemon: RoutingDaemon) -> String {
    match daemon {
        RoutingDaemon::Bird => bird(),
        RoutingDaemon::Babeld => babeld(),
    }
}

/// Where `program` is: itself when it contains a `/`, else the first match
/// on PATH (plus /usr/sbin and /sbin, which non-login shells may lack).
pub fn locate(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return is_executable(Path::new(program)).then(|| program.into());
    }
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(program))
        .find(|p| is_executable(p));
    found
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Programs the lab needs for `daemon` that are not installed.
/// `userspace_wireguard` adds wireguard-go.
pub fn missing(daemon: RoutingDaemon, userspace_wireguard: bool) -> Vec<String> {
    let mut needed = vec!["ip".to_string(), "nft".into(), "wg".into(), "ping".into(), "mount".into(), "sh".into()];
    if userspace_wireguard {
        needed.push("wireguard-go".into());
    }
    needed.push(daemon_binary(daemon));
    needed.into_iter().filter(|p| locate(p).is_none()).collect()
}

/// Programs the plan's forwarders need that are not installed: phantun's
/// binaries, when a link is forwarded over phantun.
pub fn missing_forwarders(plan: &Plan) -> Vec<String> {
    let phantun = plan
        .nodes
        .values()
        .flat_map(|n| &n.links)
        .any(|l| l.forwarder.as_ref().is_some_and(|f| f.transport() == Transport::Phantun));
    if !phantun {
        return vec![];
    }
    missing_phantun()
}

/// phantun's binaries, when not installed.
pub fn missing_phantun() -> Vec<String> {
    [phantun_client(), phantun_server()].into_iter().filter(|p| locate(p).is_none()).collect()
}

/// Whether the process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Whether the kernel can make WireGuard interfaces (module loaded or
/// loadable), judged by `/sys/module/wireguard` or `modprobe -n`.
pub fn kernel_wireguard() -> bool {
    Path::new("/sys/module/wireguard").exists()
        || std::process::Command::new("modprobe").args(["-q", "wireguard"]).status().is_ok_and(|s| s.success())
            && Path::new("/sys/module/wireguard").exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_sh_and_not_nonsense() {
        assert!(locate("sh").is_some());
        assert!(locate("/bin/sh").is_some());
        assert!(locate("hortus-no-such-program").is_none());
        assert!(missing(RoutingDaemon::Babeld, false).iter().all(|m| m != "sh"));
    }
}
