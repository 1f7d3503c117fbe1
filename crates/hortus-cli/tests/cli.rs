//! The `hortus` binary: plan, check, ports, keygen, pubkey, status, exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn hortus(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hortus")).args(args).output().expect("run hortus")
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/six-nodes.toml")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn plan_is_deterministic_and_host_view_matches() {
    let ex = example();
    let a = hortus(&["plan", ex.to_str().unwrap()]);
    let b = hortus(&["plan", ex.to_str().unwrap()]);
    assert!(a.status.success(), "{}", text(&a.stderr));
    assert_eq!(a.stdout, b.stdout);
    let plan: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    assert_eq!(plan["version"], 7);
    let host = hortus(&["plan", ex.to_str().unwrap(), "--host", "eihort"]);
    let host: serde_json::Value = serde_json::from_slice(&host.stdout).unwrap();
    assert_eq!(host["node"], plan["nodes"]["eihort"]);
    assert_eq!(host["host"], "eihort");
}

#[test]
fn plan_to_file_and_unknown_host() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan.json");
    let ex = example();
    let run = hortus(&["plan", ex.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(run.status.success());
    assert!(std::fs::read_to_string(&out).unwrap().ends_with("}\n"));
    let bad =
        hortus(&["plan", ex.to_str().unwrap(), "--host", "nyarlathotep", "-o", dir.path().join("x").to_str().unwrap()]);
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("host `nyarlathotep` is not in the inventory (known: abhoth, azasos"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no partial output written");
}

#[test]
fn unwritable_output_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let target = file.join("plan.json");
    let run = hortus(&["plan", example().to_str().unwrap(), "-o", target.to_str().unwrap()]);
    assert!(!run.status.success());
    assert!(text(&run.stderr).contains("cannot write"), "{}", text(&run.stderr));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn check_lists_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("bad.toml");
    std::fs::write(
        &inv,
        "[nodes.a]\nid = 0\npublic_key = \"AAAA\"\n[nodes.b]\nid = 0\npublic_key = \"nope\"\nendpoints = [\"x:1\"]\n",
    )
    .unwrap();
    let run = hortus(&["check", inv.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1));
    let err = text(&run.stderr);
    for needle in ["node `a`: `public_key`", "node `b`: `public_key`", "node `b`: `endpoints`", "bad.toml"] {
        assert!(err.contains(needle), "{needle} missing in {err}");
    }
    assert!(!err.contains("panicked"));
    let ok = hortus(&["check", example().to_str().unwrap()]);
    assert!(ok.status.success());
    assert!(text(&ok.stdout).contains("ok: 6 nodes, 14 links, 1 pairs skipped"));
}

#[test]
fn check_json_structures_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("bad.toml");
    std::fs::write(
        &inv,
        "[mesh]\nkeepalive = 0\n[nodes.a]\nid = 0\npublic_key = \"AAAA\"\n[nodes.b]\nid = 0\npublic_key = \"nope\"\n",
    )
    .unwrap();
    let run = hortus(&["check", "--json", inv.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["ok"], false);
    let problems = report["problems"].as_array().unwrap();
    let keyed: Vec<(String, String)> = problems
        .iter()
        .map(|p| {
            let subject = &p["subject"];
            let who = match subject["kind"].as_str().unwrap() {
                "node" => format!("node {}", subject["name"].as_str().unwrap()),
                other => other.to_string(),
            };
            (who, p["field"].as_str().unwrap().to_string())
        })
        .collect();
    for want in [("mesh", "keepalive"), ("node a", "public_key"), ("node b", "public_key"), ("node b", "id")] {
        assert!(keyed.contains(&(want.0.to_string(), want.1.to_string())), "{want:?} not in {keyed:?}");
    }
    let ok = hortus(&["check", "--json", example().to_str().unwrap()]);
    assert!(ok.status.success());
    let report: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(
        (report["ok"].as_bool(), report["nodes"].as_u64(), report["links"].as_u64()),
        (Some(true), Some(6), Some(14))
    );
    assert_eq!(report["skipped"][0]["nodes"], serde_json::json!(["yidhra", "azasos"]));
    assert_eq!(report["skipped"][0]["reason"], "no_forwarder_server");
    let typo = dir.path().join("typo.json");
    std::fs::write(&typo, r#"{"nodes": {"a": {"id": 0, "public_key": "x", "colour": "red"}}}"#).unwrap();
    let run = hortus(&["check", "--json", typo.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert!(report["parse_error"].as_str().unwrap().contains("unknown field `colour`"), "{report}");
}

#[test]
fn check_reports_parse_errors_with_location() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("typo.json");
    std::fs::write(&inv, r#"{"nodes": {"a": {"id": 0, "public_key": "x", "colour": "red"}}}"#).unwrap();
    let run = hortus(&["check", inv.to_str().unwrap()]);
    assert!(!run.status.success());
    assert!(text(&run.stderr).contains("unknown field `colour`"), "{}", text(&run.stderr));
    let missing = hortus(&["check", "/nonexistent/hortus.toml"]);
    assert!(text(&missing.stderr).contains("cannot read inventory /nonexistent/hortus.toml"));
}

#[test]
fn ports_table_matches_reference() {
    let run = hortus(&["ports", example().to_str().unwrap()]);
    let out = text(&run.stdout);
    assert!(out.starts_with("hastur kaambl 51802 direct\nhastur eihort 51805 direct\n"), "{out}");
    assert!(out.contains("abhoth azasos 51850 direct\n"));
    assert!(out.contains("hastur abhoth 51814 forwarded\n"));
    assert!(out.contains("yidhra azasos - skipped"));
}

#[test]
fn check_warns_of_single_points_of_failure_and_forwarded_only_nodes() {
    // home (NAT) and laptop (NAT, censored) have no link: only vps joins
    // them, and laptop's only link is forwarded.
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("spof.toml");
    let node = |name: &str, id: u32, key: &str, extra: &str| {
        format!("[nodes.{name}]\nid = {id}\npublic_key = \"{key}\"\n{extra}\n")
    };
    let toml = node("vps", 0, "Qa1vemslfwos6UY8kn1c95LoOS5NtCcQ0YqSP46alDU=", "endpoints = [\"198.51.100.10\"]")
        + &node("home", 1, "CeRNx11xOLO93e3vP6aUB8zrvSDCZbRhD5fMhDM7zFY=", "nat = true\nregion = \"home\"")
        + &node(
            "laptop",
            2,
            "uMJ9PmQmAynIDpZ8Q10e2dBoT+CvGGYIoA5rH5q48T0=",
            "nat = true\ncensored = true\nregion = \"cg\"",
        );
    std::fs::write(&inventory, toml).unwrap();
    let run = hortus(&["check", inventory.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(0), "warnings only");
    let out = text(&run.stdout);
    assert!(out.contains("warning: `vps` is a single point of failure: without it `laptop` is cut off"), "{out}");
    assert!(out.contains("warning: `laptop` is reachable only over forwarded links, through `vps`"), "{out}");
    let json: serde_json::Value =
        serde_json::from_slice(&hortus(&["check", "--json", inventory.to_str().unwrap()]).stdout).unwrap();
    assert_eq!(json["single_points"], serde_json::json!([{"node": "vps", "cut_off": ["laptop"]}]));
    assert_eq!(json["forwarded_only"], serde_json::json!([{"node": "laptop", "through": ["vps"]}]));
    // The six-node example has neither.
    let six = text(&hortus(&["check", example().to_str().unwrap()]).stdout);
    assert!(!six.contains("single point") && !six.contains("only over forwarded"), "{six}");
}

#[test]
fn ports_for_one_host_list_what_its_firewall_must_let_in() {
    let inventory = example();
    let run = hortus(&["ports", inventory.to_str().unwrap(), "--host", "hastur"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let out = text(&run.stdout);
    let plan: serde_json::Value =
        serde_json::from_slice(&hortus(&["plan", inventory.to_str().unwrap(), "--host", "hastur"]).stdout).unwrap();
    let joined = |key: &str| {
        let ports: Vec<String> =
            plan["node"]["firewall"][key].as_array().unwrap().iter().map(|p| p.to_string()).collect();
        ports.join(",")
    };
    assert!(out.contains(&format!("# inbound udp: {}\n", joined("udp_ports"))), "{out}");
    assert!(out.contains(&format!("# inbound tcp: {}\n", joined("tcp_ports"))), "{out}");
    assert!(out.contains("in  udp 51802 from kaambl: WireGuard"), "{out}");
    assert!(out.contains("in  tcp 51814 from abhoth: phantun server"), "{out}");
    assert!(out.contains("out udp 51805 to eihort eihort.example.net: WireGuard (this node dials)"), "{out}");
    let nat = text(&hortus(&["ports", inventory.to_str().unwrap(), "--host", "yidhra"]).stdout);
    assert!(nat.starts_with("# `yidhra` accepts no inbound connection"), "{nat}");
    assert!(!nat.contains("\nin "), "{nat}");
    let unknown = hortus(&["ports", inventory.to_str().unwrap(), "--host", "nobody"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown.stderr).contains("nobody"), "{}", text(&unknown.stderr));
}

#[test]
fn keygen_writes_private_keys_0600_and_never_prints_them() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let run = hortus(&["keygen", "--out-dir", dir.path().to_str().unwrap(), "alpha", "beta"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let out = text(&run.stdout);
    for name in ["alpha", "beta"] {
        let private = std::fs::read_to_string(dir.path().join(format!("{name}.key"))).unwrap();
        let public = std::fs::read_to_string(dir.path().join(format!("{name}.pub"))).unwrap();
        let mode = std::fs::metadata(dir.path().join(format!("{name}.key"))).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!out.contains(private.trim()), "private key printed");
        assert!(out.contains(&format!("{name} {}", public.trim())));
        assert_eq!(pubkey(&private).trim(), public.trim());
    }
    let again = hortus(&["keygen", "--out-dir", dir.path().to_str().unwrap(), "alpha"]);
    assert!(!again.status.success(), "refuses to overwrite a private key");
}

#[test]
fn keygen_creates_a_missing_out_dir_0700() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("secrets/hortus");
    let run = hortus(&["keygen", "--out-dir", out.to_str().unwrap(), "alpha"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(out.join("alpha.key").is_file() && out.join("alpha.pub").is_file());
    assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o700, "holds private keys");
    let file = dir.path().join("plain");
    std::fs::write(&file, "").unwrap();
    let run = hortus(&["keygen", "--out-dir", file.to_str().unwrap(), "alpha"]);
    assert_eq!(run.status.code(), Some(1));
    assert!(text(&run.stderr).contains("not a directory"), "{}", text(&run.stderr));
}

fn pubkey(private: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hortus"))
        .arg("pubkey")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(private.as_bytes()).unwrap();
    text(&child.wait_with_output().unwrap().stdout)
}

/// `hortus pubkey` agrees with `wg pubkey` from wireguard-tools.
#[test]
fn pubkey_matches_wg() {
    let wg = |args: &[&str], input: &str| -> Option<String> {
        let mut child = Command::new("wg").args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().ok()?;
        use std::io::Write;
        child.stdin.take()?.write_all(input.as_bytes()).ok()?;
        Some(text(&child.wait_with_output().ok()?.stdout))
    };
    let Some(private) = wg(&["genkey"], "") else {
        assert!(std::env::var_os("HORTUS_REQUIRE_TOOLS").is_none(), "wg (wireguard-tools) is required");
        eprintln!("SKIPPED: pubkey_matches_wg: `wg` not found");
        return;
    };
    for _ in 0..5 {
        let private = wg(&["genkey"], "").unwrap_or_else(|| private.clone());
        assert_eq!(pubkey(&private), wg(&["pubkey"], &private).unwrap());
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_hortus")).arg("pubkey").stdin(Stdio::null()).output().unwrap();
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("private key on stdin: expected base64 of 32 bytes"));
}

#[test]
fn status_watch_prints_each_destination_then_stops() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let ex = example();
    assert!(hortus(&["plan", ex.to_str().unwrap(), "-o", plan.to_str().unwrap()]).status.success());
    let plan = plan.to_str().unwrap();
    // This machine has no route to the mesh: each of hastur's five
    // destinations starts with none, and nothing changes in a second.
    let run = hortus(&["status", "--plan", plan, "--host", "hastur", "--watch", "--for", "1", "--json"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let events: Vec<serde_json::Value> =
        text(&run.stdout).lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
    assert_eq!(events.len(), 5, "{}", text(&run.stdout));
    assert!(events.iter().all(|e| e["initial"] == true && e["host"] == "hastur" && e["interface"].is_null()));
    let text_run = hortus(&["status", "--plan", plan, "--host", "hastur", "--watch", "--for", "1"]);
    assert!(
        text(&text_run.stdout).lines().all(|l| l.ends_with(": no route (unreachable)")),
        "{}",
        text(&text_run.stdout)
    );
    // --for belongs to --watch; --watch makes no snapshot to export. Both are
    // usage errors (2), not a down link (3), even with --down-after.
    assert_eq!(hortus(&["status", "--plan", plan, "--for", "1"]).status.code(), Some(2));
    assert_eq!(hortus(&["status", "--plan", plan, "--watch", "--down-after", "1"]).status.code(), Some(2));
}

/// The exit codes (crates/hortus-cli/src/exit.rs, README "Exit codes"):
/// 0 ok, 1 error, 2 usage error, 3 a link down longer than `--down-after`.
#[test]
fn exit_codes_are_distinct_and_listed_in_help() {
    let code = |args: &[&str]| hortus(args).status.code();
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    assert_eq!(code(&["plan", example().to_str().unwrap(), "-o", plan.to_str().unwrap()]), Some(0));
    let plan = plan.to_str().unwrap();

    // Usage errors: clap's 2, whatever the command.
    assert_eq!(code(&["no-such-command"]), Some(2));
    assert_eq!(code(&["status", "--plan", plan, "--down-afer", "0"]), Some(2), "a typo in a monitoring unit");
    assert_eq!(code(&["status", "--plan", plan, "--down-after", "5 minutes"]), Some(2));
    // Errors: 1.
    assert_eq!(
        code(&["status", "--plan", dir.path().join("missing.json").to_str().unwrap(), "--down-after", "0"]),
        Some(1)
    );
    // This machine has no mesh interfaces: every one of hastur's planned
    // links is down and was never up, so it counts at once.
    let down = hortus(&["status", "--plan", plan, "--host", "hastur", "--down-after", "0"]);
    assert_eq!(down.status.code(), Some(3), "{}", text(&down.stderr));
    assert!(text(&down.stderr).contains("hortus status: down for longer than 0 s: wg-"), "{}", text(&down.stderr));
    // Without --down-after, a down link is only reported.
    let report = hortus(&["status", "--plan", plan, "--host", "hastur", "--json"]);
    assert_eq!(report.status.code(), Some(0), "{}", text(&report.stderr));

    // `hortus --help` lists them; `--help` itself succeeds.
    let help = hortus(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let help = text(&help.stdout);
    let listed: Vec<&str> = help.lines().skip_while(|l| *l != "Exit codes:").collect();
    assert_eq!(
        listed.iter().skip(1).map(|l| l.split_whitespace().next().unwrap_or("")).collect::<Vec<_>>(),
        ["0", "1", "2", "3", "4"],
        "{help}"
    );
    assert!(listed[4].contains("`hortus status --down-after`"), "{help}");
    assert!(listed[5].contains("`hortus diff`"), "{help}");
    // And the flag's own help says 3.
    let status_help = text(&hortus(&["status", "--help"]).stdout);
    assert!(status_help.contains("Exit with status 3 when a planned link"), "{status_help}");
}
