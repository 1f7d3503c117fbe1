//! The CLI as a careless or hostile user drives it: outputs that are not
//! hortus' own, concurrent keygen, closed pipes and full disks, secrets and
//! huge lines in errors, control characters in names, stdin and odd inputs
//! (docs/validation.md, "Files and output").

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn hortus(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hortus")).args(args).output().expect("run hortus")
}

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/six-nodes.toml").to_string_lossy().into_owned()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// An inventory of `n` public nodes (every 3rd behind NAT in its own region,
/// so many pairs are skipped and `check` prints many lines).
fn big_inventory(dir: &Path, n: u32) -> PathBuf {
    let mut text = String::from("[mesh]\nport_scheme = \"xor\"\nbase_port = 30000\n");
    for id in 0..n {
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(&id.to_le_bytes());
        key[31] = 0x55;
        let key = base64(&key);
        let nat = id % 3 == 0;
        text += &format!(
            "[nodes.n{id}]\nid = {id}\npublic_key = \"{key}\"\nendpoints = [\"198.18.{}.{}\"]\nnat = {nat}\nregion = \"r{id}\"\n",
            id / 250,
            id % 250 + 1
        );
    }
    let path = dir.join("big.toml");
    fs::write(&path, text).unwrap();
    path
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn output_onto_a_symlink_fifo_or_device_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let precious = dir.path().join("precious");
    fs::write(&precious, "keep me").unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&precious, &link).unwrap();
    let fifo = dir.path().join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let mut targets = vec![(link.clone(), "is a symbolic link"), (fifo.clone(), "is a FIFO")];
    // A device node of our own (root only): the same rule as /dev/null.
    let device = dir.path().join("null");
    if Command::new("mknod").arg(&device).args(["c", "1", "3"]).status().is_ok_and(|s| s.success()) {
        targets.push((device.clone(), "is a character device"));
    }
    for (target, why) in &targets {
        let run = hortus(&["plan", &example(), "-o", target.to_str().unwrap()]);
        assert_eq!(run.status.code(), Some(1), "{}: {}", target.display(), text(&run.stderr));
        assert!(text(&run.stderr).contains(why), "{}", text(&run.stderr));
        assert!(!fs::symlink_metadata(target).unwrap().file_type().is_file(), "{} replaced", target.display());
    }
    assert_eq!(fs::read_to_string(&precious).unwrap(), "keep me");
    // render -o DIR: an output entry that is somebody else's symlink.
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    std::os::unix::fs::symlink(&precious, out.join("bird.conf")).unwrap();
    let run = hortus(&["render", &example(), "--host", "hastur", "--format", "bird", "-o", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
    assert!(text(&run.stderr).contains("symbolic link hortus did not make"), "{}", text(&run.stderr));
    assert_eq!(fs::read_to_string(&precious).unwrap(), "keep me");
}

#[test]
fn keygen_checks_every_name_before_writing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    fs::write(dir.path().join("b.pub"), "an old public key\n").unwrap();
    let run = hortus(&["keygen", "--out-dir", d, "a", "b"]);
    assert_eq!(run.status.code(), Some(1));
    assert!(text(&run.stderr).contains("b.pub exists"), "{}", text(&run.stderr));
    let mut names: Vec<_> = fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    names.sort();
    assert_eq!(names, ["b.pub"], "nothing written for `a` either");
    let run = hortus(&["keygen", "--out-dir", d, "c", "c"]);
    assert!(text(&run.stderr).contains("given twice"), "{}", text(&run.stderr));
}

#[test]
fn concurrent_keygens_never_overwrite_or_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    let runs: Vec<_> = (0..8)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_hortus"))
                .args(["keygen", "--out-dir", &d, "same"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<Output> = runs.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    let winners: Vec<&Output> = outputs.iter().filter(|o| o.status.success()).collect();
    assert_eq!(winners.len(), 1, "exactly one keygen creates `same`");
    let printed = text(&winners[0].stdout);
    let private = fs::read_to_string(dir.path().join("same.key")).unwrap();
    let public = fs::read_to_string(dir.path().join("same.pub")).unwrap();
    let mut pubkey = Command::new(env!("CARGO_BIN_EXE_hortus"))
        .arg("pubkey")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    pubkey.stdin.take().unwrap().write_all(private.as_bytes()).unwrap();
    let derived = pubkey.wait_with_output().unwrap();
    assert_eq!(text(&derived.stdout), public, ".pub matches .key");
    assert_eq!(printed, format!("same {public}"));
}

/// Runs `args` with stdout a pipe whose reader takes one line and closes.
fn head_1(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hortus"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(!first.is_empty());
    let output = child.wait_with_output().unwrap();
    (output.status.code(), text(&output.stderr))
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    // Outputs far larger than a pipe's 64 KiB buffer, so the write after the
    // reader is gone must fail.
    let inv = big_inventory(dir.path(), 120);
    let inv = inv.to_str().unwrap();
    for args in [vec!["ports", inv], vec!["check", inv], vec!["plan", inv], vec!["plan", inv, "--host", "n5"]] {
        let (code, stderr) = head_1(&args);
        assert_eq!((code, stderr.as_str()), (Some(0), ""), "{args:?}");
    }
}

#[test]
fn a_write_error_on_stdout_is_a_clear_error() {
    let full = fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    for args in [vec!["ports", &example()], vec!["check", &example()], vec!["plan", &example()]] {
        let run =
            Command::new(env!("CARGO_BIN_EXE_hortus")).args(&args).stdout(full.try_clone().unwrap()).output().unwrap();
        assert_eq!(run.status.code(), Some(1), "{args:?}");
        assert_eq!(
            without_warnings(&text(&run.stderr)),
            "hortus: error: cannot write to stdout: No space left on device (os error 28)\n",
            "{args:?}"
        );
    }
}

#[test]
fn errors_never_echo_keys_or_huge_lines() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "YE8Wz6Ve0lrt5FAGqvVS9fTnybOc5UGExAh/TBjTJVY=";
    let inv = dir.path().join("secret.toml");
    fs::write(&inv, format!("[nodes.a]\nid = 0\npublic_key = \"x\"\nprivate_key = \"{secret}\"\n")).unwrap();
    let run = hortus(&["check", inv.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1));
    let stderr = text(&run.stderr);
    assert!(stderr.contains("line 4, column 1: unknown field `private_key`"), "{stderr}");
    assert!(!stderr.contains(secret), "{stderr}");
    // A key-shaped endpoint is not echoed either.
    fs::write(&inv, format!("[nodes.a]\nid = 0\npublic_key = \"{secret}\"\nendpoints = [\"{secret}\"]\n")).unwrap();
    let stderr = text(&hortus(&["check", inv.to_str().unwrap()]).stderr);
    assert!(stderr.contains("`endpoints`") && !stderr.contains(secret), "{stderr}");
    // A 5 MB one-line file.
    fs::write(&inv, format!("nodes = {{ a = {{ id = 0, public_key = \"{}\" }} ", "x".repeat(5_000_000))).unwrap();
    let run = hortus(&["check", inv.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1));
    assert!(run.stderr.len() < 2000, "{} bytes of stderr", run.stderr.len());
}

#[test]
fn control_characters_in_names_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("ansi.toml");
    fs::write(&inv, "[nodes.\"red\\u001b[31mname\"]\nid = 0\npublic_key = \"x\"\n").unwrap();
    let stderr = text(&hortus(&["check", inv.to_str().unwrap()]).stderr);
    assert!(stderr.contains("node `red\\u{1b}[31mname`"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "raw escape written to the terminal: {stderr:?}");
    let stderr = text(&hortus(&["plan", &example(), "--host", "x\u{1b}]0;title\u{7}"]).stderr);
    assert!(!stderr.contains('\u{1b}') && !stderr.contains('\u{7}'), "{stderr:?}");
}

#[test]
fn json_by_any_case_with_a_bom_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let plan = hortus(&["plan", &example()]);
    let json = r#"{"nodes": {"a": {"id": 0, "public_key": "Qa1vemslfwos6UY8kn1c95LoOS5NtCcQ0YqSP46alDU=", "endpoints": ["192.0.2.1"]},
                   "b": {"id": 1, "public_key": "CeRNx11xOLO93e3vP6aUB8zrvSDCZbRhD5fMhDM7zFY=", "endpoints": ["192.0.2.2"]}}}"#;
    let upper = dir.path().join("INV.JSON");
    fs::write(&upper, format!("\u{feff}{json}")).unwrap();
    let run = hortus(&["check", upper.to_str().unwrap()]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let toml_bom = dir.path().join("bom.toml");
    fs::write(&toml_bom, format!("\u{feff}{}", fs::read_to_string(example()).unwrap())).unwrap();
    let run = hortus(&["plan", toml_bom.to_str().unwrap()]);
    assert_eq!(without_warnings(&text(&run.stderr)), "");
    assert_eq!(run.stdout, plan.stdout);
    for input in [json.to_string(), fs::read_to_string(example()).unwrap()] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hortus"))
            .args(["check", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let run = child.wait_with_output().unwrap();
        assert!(run.status.success(), "{}", text(&run.stderr));
        assert!(text(&run.stdout).contains("ok: "), "{}", text(&run.stdout));
    }
}

/// `stderr` without the plan's warnings (the example has a pair no forwarder can serve).
fn without_warnings(stderr: &str) -> String {
    stderr.lines().filter(|l| !l.starts_with("hortus: warning:")).map(|l| format!("{l}\n")).collect()
}
