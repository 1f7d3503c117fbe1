//! The units of hortus' own services (`hortus endpoints`, `hortus
//! failover`) pass `systemd-analyze verify`, as written for each host of
//! the six-node example (probing its links) that gets them. A missing tool skips (printing
//! `SKIPPED:`) unless HORTUS_REQUIRE_TOOLS=1.

mod common;

use common::{hosts, plan, six_nodes, tool_missing};
use hortus_render::{endpoints, failover, service};
use std::process::Command;

#[test]
fn service_units_pass_systemd_analyze_verify() {
    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        return tool_missing("systemd-analyze is not installed");
    }
    let dir = std::env::temp_dir().join(format!("hortus-services-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // An executable that exists (systemd-analyze checks ExecStart='s program).
    let opts =
        service::Options { hortus: std::env::current_exe().unwrap().to_string_lossy().into(), ..Default::default() };
    let mut units = vec![];
    let mut inventory = six_nodes();
    inventory.mesh.failover.probe = true;
    for host in hosts(&plan(&inventory)) {
        let files = endpoints::render(&host, &opts).unwrap().into_iter().chain(failover::render(&host, &opts).unwrap());
        for file in files {
            let path = dir.join(format!("{}-{}", host.host, file.name));
            std::fs::write(&path, file.contents).unwrap();
            units.push(path);
        }
    }
    assert!(units.iter().any(|u| u.ends_with("eihort-hortus-endpoints.service")), "{units:?}");
    assert_eq!(units.iter().filter(|u| u.to_string_lossy().ends_with("hortus-failover.service")).count(), 6);
    for unit in &units {
        let out = Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(unit).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && stderr.trim().is_empty(), "{}: {stderr}", unit.display());
    }
    // The check can fail: a typo'd setting is reported.
    let text = std::fs::read_to_string(&units[0]).unwrap();
    std::fs::write(&units[0], text.replace("Restart=always", "Restart=allways")).unwrap();
    let out = Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(&units[0]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("allways"), "a bad unit is reported");
    std::fs::remove_dir_all(&dir).unwrap();
}
