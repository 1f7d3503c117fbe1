//! The forwarder files of every host of the six-node example pass
//! `systemd-analyze verify` (pointing at the installed phantun binaries)
//! and `nft -c` (inside a fresh network namespace). A missing tool skips
//! (printing `SKIPPED:`) unless HORTUS_REQUIRE_TOOLS=1.

mod common;

use common::{hosts, plan, six_nodes, tool_missing};
use hortus_render::forwarder::{self, Options, NFT_FILE};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `program` on PATH.
fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path.split(':').chain(["/usr/sbin", "/sbin"]).map(|d| Path::new(d).join(program)).find(|p| p.is_file());
    found
}

/// A fresh scratch directory under the target dir.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hortus-forwarder-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Renders every host with `opts` into `dir/<host>/`; returns the host dirs
/// that got files.
fn render_all(dir: &Path, opts: &Options) -> Vec<PathBuf> {
    let mut out = vec![];
    for host in hosts(&plan(&six_nodes())) {
        let files = forwarder::render(&host, opts).expect("render");
        if files.is_empty() {
            continue;
        }
        let host_dir = dir.join(&host.host);
        std::fs::create_dir_all(&host_dir).unwrap();
        for file in files {
            std::fs::write(host_dir.join(&file.name), file.contents).unwrap();
        }
        out.push(host_dir);
    }
    out
}

#[test]
fn units_pass_systemd_analyze_verify() {
    let (Some(client), Some(server), Some(nft)) = (which("phantun_client"), which("phantun_server"), which("nft"))
    else {
        return tool_missing("phantun_client, phantun_server or nft is not on PATH (scripts/install-test-deps.sh)");
    };
    if which("systemd-analyze").is_none() {
        return tool_missing("systemd-analyze is not installed");
    }
    let dir = scratch("verify");
    let opts = Options {
        phantun_client: client.to_string_lossy().into(),
        phantun_server: server.to_string_lossy().into(),
        nft: nft.to_string_lossy().into(),
        // An executable that exists (systemd-analyze checks ExecStart='s
        // program): this test's own, standing in for `hortus`.
        hortus: std::env::current_exe().unwrap().to_string_lossy().into(),
        ..Options::default()
    };
    let host_dirs = render_all(&dir, &opts);
    // hastur, kaambl, eihort host servers; yidhra, abhoth, azasos run clients (abhoth a server too).
    assert_eq!(host_dirs.len(), 6);
    for host_dir in &host_dirs {
        let units: Vec<PathBuf> = std::fs::read_dir(host_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "service"))
            .collect();
        assert!(units.len() >= 2, "{}: {units:?}", host_dir.display());
        let out = Command::new("systemd-analyze").arg("verify").arg("--man=no").args(&units).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && stderr.trim().is_empty(), "{}: {stderr}", host_dir.display());
    }
    // The check can fail: a unit with a typo'd setting is reported.
    let unit = host_dirs[0].join("hortus-forwarder-nft.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    std::fs::write(&unit, text.replace("Type=oneshot", "Type=oneshut")).unwrap();
    let out = Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(&unit).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("oneshut"), "a bad unit is reported");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn nftables_rules_are_accepted_by_nft() {
    let is_root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if which("nft").is_none() || which("unshare").is_none() || !is_root {
        return tool_missing("nft -c needs nft, unshare and root");
    }
    let dir = scratch("nft");
    for host_dir in render_all(&dir, &Options::default()) {
        let file = host_dir.join(NFT_FILE);
        // Twice: loading again replaces the table (the first line creates it if missing).
        let script = format!("nft -f {0} && nft -f {0} && nft list table inet hortus_forwarder", file.display());
        let out = Command::new("unshare").args(["--net", "sh", "-ec", &script]).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("dnat ip to") || stdout.contains("masquerade"), "{stdout}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
