//! Running external programs (`ip`, `nft`, `wg`, daemons), optionally inside
//! a network namespace and with a node's private `/run/wireguard`.

use crate::error::{LabError, Result};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// A command line to run, built up with namespace and mount wrappers.
#[derive(Debug, Clone)]
pub struct Cmd {
    argv: Vec<String>,
    stdin: Option<String>,
}

impl Cmd {
    /// `program` with `args`.
    pub fn new<I, S>(program: &str, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut argv = vec![program.to_string()];
        argv.extend(args.into_iter().map(|a| a.as_ref().to_string()));
        Cmd { argv, stdin: None }
    }

    /// Runs the command inside network namespace `ns` (`ip netns exec`,
    /// which also gives it a private mount namespace).
    pub fn in_ns(mut self, ns: &str) -> Cmd {
        let mut argv = vec!["ip".into(), "netns".into(), "exec".into(), ns.into()];
        argv.append(&mut self.argv);
        self.argv = argv;
        self
    }

    /// Runs the command with `dir` bind-mounted on `/run/wireguard`, where
    /// wireguard-go and `wg` keep their control sockets; giving each node its
    /// own directory keeps nodes' same-named interfaces apart. Put this
    /// before [`Cmd::in_ns`] so the mount happens inside the namespace's
    /// private mount namespace.
    pub fn with_wireguard_dir(mut self, dir: &Path) -> Cmd {
        let mut argv: Vec<String> = vec![
            "sh".into(),
            "-c".into(),
            r#"mount --bind "$1" /run/wireguard && shift && exec "$@""#.into(),
            "sh".into(),
            dir.to_string_lossy().into_owned(),
        ];
        argv.append(&mut self.argv);
        self.argv = argv;
        self
    }

    /// Feeds `text` on standard input.
    pub fn stdin(mut self, text: String) -> Cmd {
        self.stdin = Some(text);
        self
    }

    /// The full command line.
    pub fn argv(&self) -> &[String] {
        &self.argv
    }

    /// The command line as one string, for messages.
    pub fn display(&self) -> String {
        self.argv.join(" ")
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.argv[0]);
        command.args(&self.argv[1..]);
        command
    }

    /// Runs to completion; returns stdout, or an error with stderr.
    pub fn run(&self) -> Result<String> {
        let mut command = self.command();
        command.stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let failed = |status: String, stderr: String| LabError::Command {
            command: self.display(),
            status,
            stderr: stderr.trim().to_string(),
        };
        let mut child = command.spawn().map_err(|e| failed(format!("cannot start: {e}"), String::new()))?;
        if let Some(text) = &self.stdin {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            pipe.write_all(text.as_bytes()).map_err(|e| failed(format!("cannot write stdin: {e}"), String::new()))?;
        }
        let output = child.wait_with_output().map_err(|e| failed(format!("cannot wait: {e}"), String::new()))?;
        if !output.status.success() {
            return Err(failed(output.status.to_string(), String::from_utf8_lossy(&output.stderr).into_owned()));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Runs to completion with the caller's stdin, stdout and stderr;
    /// returns the exit status, whatever it is.
    pub fn run_inherited(&self) -> Result<std::process::ExitStatus> {
        let mut command = self.command();
        command.stdin(Stdio::inherit()).stdout(Stdio::inherit()).stderr(Stdio::inherit());
        command.status().map_err(|e| LabError::Command {
            command: self.display(),
            status: format!("cannot start: {e}"),
            stderr: String::new(),
        })
    }

    /// Starts the command with stdout and stderr piped to the caller and
    /// stdin closed.
    pub fn spawn_piped(&self) -> Result<std::process::Child> {
        let mut command = self.command();
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        command.spawn().map_err(|e| LabError::Command {
            command: self.display(),
            status: format!("cannot start: {e}"),
            stderr: String::new(),
        })
    }

    /// Starts the command as a background process (own process group, stdin
    /// closed, stdout and stderr appended to `log`) and returns its PID.
    pub fn spawn_logged(&self, log: &Path) -> Result<u32> {
        use std::os::unix::process::CommandExt;
        let file = std::fs::OpenOptions::new().create(true).append(true).open(log).map_err(|e| LabError::io(log, e))?;
        let err = file.try_clone().map_err(|e| LabError::io(log, e))?;
        let mut command = self.command();
        command.stdin(Stdio::null()).stdout(file).stderr(err).process_group(0);
        // SAFETY: the hook only makes a raw system call, which is
        // async-signal-safe.
        unsafe { command.pre_exec(close_inherited_on_exec) };
        let child = command.spawn().map_err(|e| LabError::Command {
            command: self.display(),
            status: format!("cannot start: {e}"),
            stderr: String::new(),
        })?;
        Ok(child.id())
    }
}

/// Marks every descriptor above stderr close-on-exec, so a long-lived lab
/// process holds nothing it inherited: a lock taken by `flock FILE hortus
/// lab up` would otherwise stay held by every daemon until `down`, and a
/// `flock FILE hortus lab down` would wait for it forever.
fn close_inherited_on_exec() -> std::io::Result<()> {
    // SAFETY: close_range(2) only changes descriptor flags. Its result is
    // ignored: kernels before 5.11 lack CLOSE_RANGE_CLOEXEC, spawn anyway.
    unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) };
    Ok(())
}

/// `ip -n NS ARGS...`: runs an `ip` command against namespace `ns`.
pub fn ip(ns: &str, args: &[&str]) -> Result<String> {
    let mut argv = vec!["-n", ns];
    argv.extend_from_slice(args);
    Cmd::new("ip", argv).run()
}

/// Loads an nftables script into namespace `ns`.
pub fn nft(ns: &str, script: String) -> Result<()> {
    Cmd::new("nft", ["-f", "-"]).in_ns(ns).stdin(script).run().map(drop)
}

/// Writes sysctl values inside namespace `ns` (`key` as a /proc/sys path
/// relative to /proc/sys, e.g. `net/ipv6/conf/all/forwarding`).
pub fn sysctls(ns: &str, values: &[(&str, &str)]) -> Result<()> {
    let script: String = values.iter().map(|(k, v)| format!("echo '{v}' > /proc/sys/{k}\n")).collect();
    Cmd::new("sh", ["-ec", &script]).in_ns(ns).run().map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrappers_nest_namespace_outside_mount() {
        let cmd = Cmd::new("wg", ["show"]).with_wireguard_dir(Path::new("/s/n/wg")).in_ns("hl-a");
        assert_eq!(cmd.argv()[..4], ["ip", "netns", "exec", "hl-a"]);
        assert_eq!(cmd.argv()[4], "sh");
        assert_eq!(cmd.argv()[8], "/s/n/wg");
        assert_eq!(cmd.argv()[9..], ["wg", "show"]);
    }

    #[test]
    fn failure_carries_command_and_stderr() {
        let err = Cmd::new("sh", ["-c", "echo oops >&2; exit 3"]).run().unwrap_err().to_string();
        assert!(err.contains("`sh -c"), "{err}");
        assert!(err.contains("oops"), "{err}");
    }

    #[test]
    fn spawned_processes_inherit_no_descriptor() {
        let dir = std::env::temp_dir().join(format!("hortus-exec-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A descriptor without close-on-exec, as `flock FILE cmd` leaves one.
        let held = std::fs::File::open("/dev/null").unwrap();
        use std::os::fd::AsRawFd;
        // SAFETY: clearing FD_CLOEXEC on our own open descriptor.
        unsafe { libc::fcntl(held.as_raw_fd(), libc::F_SETFD, 0) };
        let log = dir.join("log");
        let pid = Cmd::new("sh", ["-c", "ls /proc/$$/fd"]).spawn_logged(&log).unwrap();
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), 0) };
        let fds: Vec<String> = std::fs::read_to_string(&log).unwrap().split_whitespace().map(String::from).collect();
        assert!(!fds.contains(&held.as_raw_fd().to_string()), "inherited fd {}: {fds:?}", held.as_raw_fd());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn stdin_is_fed() {
        assert_eq!(Cmd::new("cat", [] as [&str; 0]).stdin("hi".into()).run().unwrap(), "hi");
    }
}
