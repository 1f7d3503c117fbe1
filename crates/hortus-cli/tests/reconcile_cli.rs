//! `hortus reconcile`: the plan it reads and its refusals. What it does to
//! live interfaces is tested in the host tier (tests/host/, kernel WireGuard).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn hortus(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hortus")).args(args).output().expect("run hortus")
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/six-nodes.toml")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn missing_plan_is_a_clear_error() {
    let out = hortus(&["reconcile", "--plan", "/nonexistent/plan.json", "--dry-run"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot read the plan /nonexistent/plan.json"), "{}", stderr(&out));
}

#[test]
fn whole_mesh_plan_takes_the_host_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let ex = example();
    assert!(hortus(&["plan", ex.to_str().unwrap(), "-o", plan.to_str().unwrap()]).status.success());
    let out = hortus(&["reconcile", "--plan", plan.to_str().unwrap(), "--host", "nobody", "--dry-run"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("host `nobody` is not in the plan (nodes: abhoth,"), "{}", stderr(&out));
    let out = hortus(&["reconcile", "--plan", plan.to_str().unwrap(), "--host", "hastur", "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("host hastur: 5 planned link(s)"));
}

#[test]
fn an_inventory_given_as_a_plan_points_to_hortus_plan() {
    let out = hortus(&["status", "--plan", example().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("a plan is what `hortus plan INVENTORY` writes"), "{}", stderr(&out));
}

#[test]
fn a_plan_of_another_version_is_refused_first() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("old.json");
    // The version is checked before anything else: a v2 plan's fields are never misread.
    std::fs::write(&plan, r#"{"version": 2, "mesh": {}, "host": "hastur", "node": {}, "skipped": []}"#).unwrap();
    for command in [&["reconcile", "--dry-run"][..], &["status"][..]] {
        let mut args = command.to_vec();
        args.extend(["--plan", plan.to_str().unwrap()]);
        let out = hortus(&args);
        assert_eq!(out.status.code(), Some(1), "{command:?}");
        assert!(
            stderr(&out).contains(&format!("plan version 2, this hortus reads version {}", hortus_plan::PLAN_VERSION)),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn dry_run_on_a_host_plan_changes_nothing_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("hastur.json");
    let ex = example();
    assert!(hortus(&["plan", ex.to_str().unwrap(), "--host", "hastur", "-o", plan.to_str().unwrap()]).status.success());
    let out = hortus(&["reconcile", "--plan", plan.to_str().unwrap(), "--dry-run"]);
    // This machine has no `wg-*` WireGuard interfaces outside namespaces.
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("host hastur: 5 planned link(s)") && stdout.contains("(dry run)"), "{stdout}");
}
