//! `hortus diff OLD NEW`: exit 0 when nothing changes, 4 when something
//! does, 1 (naming the file) for a file that is neither an inventory nor a
//! plan; inventories and plans mix.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output};

fn hortus(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hortus")).args(args).output().expect("run hortus")
}

fn example() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/six-nodes.toml").to_string_lossy().into_owned()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn exit_codes_say_whether_anything_changes() {
    let dir = tempfile::tempdir().unwrap();
    let old = example();
    let same = hortus(&["diff", &old, &old]);
    assert_eq!(same.status.code(), Some(0), "{}", text(&same.stderr));
    assert!(text(&same.stdout).starts_with("no change"), "{}", text(&same.stdout));

    // A plan of the same inventory is the same mesh.
    let plan = dir.path().join("plan.json");
    let out = hortus(&["plan", &old, "-o", plan.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(hortus(&["diff", plan.to_str().unwrap(), &old]).status.code(), Some(0));

    let new = dir.path().join("new.toml");
    fs::write(&new, fs::read_to_string(&old).unwrap().replace("base_port = 51800", "base_port = 52000")).unwrap();
    let moved = hortus(&["diff", &old, new.to_str().unwrap()]);
    assert_eq!(moved.status.code(), Some(4), "{}", text(&moved.stderr));
    let report = text(&moved.stdout);
    assert!(report.starts_with("FLAG DAY: every host changes at once"), "{report}");
    assert!(report.contains("mesh.base_port 51800 -> 52000"), "{report}");
    assert!(report.contains("reconcile will recreate wg-"), "{report}");

    let json = hortus(&["diff", &old, new.to_str().unwrap(), "--json"]);
    assert_eq!(json.status.code(), Some(4));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["flag_day"]["causes"][0], "mesh.base_port 51800 -> 52000");
}

#[test]
fn a_file_that_is_neither_inventory_nor_plan_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.txt");
    fs::write(&junk, "hello = [").unwrap();
    let out = hortus(&["diff", &example(), junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.starts_with("hortus: error:") && err.contains("junk.txt"), "{err}");
    assert!(out.stdout.is_empty(), "nothing printed on an error");
}
