//! Every node's route changes at once: `hortus status --watch --json` (the
//! command an operator runs on a host) in each live node's namespace, the
//! events merged as they arrive.

use crate::error::{LabError, Result};
use crate::exec::Cmd;
use crate::lab::Lab;
use hortus_status::watch::RouteEvent;
use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc;
use std::time::Duration;

impl Lab {
    /// Watches the routes of every live node for `duration` (until the
    /// watchers are interrupted when `None`): first each node's current
    /// route per destination, then every change, passed to `on_event` as
    /// it arrives.
    pub fn watch(&self, duration: Option<Duration>, on_event: &mut dyn FnMut(RouteEvent)) -> Result<()> {
        let exe = self.state.hortus_exe.to_string_lossy().into_owned();
        let plan = self.dir.plan_file().to_string_lossy().into_owned();
        let seconds = duration.map(|d| format!("{}s", d.as_secs().max(1)));
        let (events, received) = mpsc::channel();
        let mut watchers = vec![];
        for name in self.nodes().into_iter().filter(|n| !self.state.killed.contains(n)) {
            let mut args = vec!["status", "--watch", "--json", "--plan", &plan, "--host", &name];
            if let Some(s) = &seconds {
                args.extend(["--for", s]);
            }
            let cmd = Cmd::new(&exe, args).in_ns(&self.state.node_ns(&name));
            let mut child = cmd.spawn_piped()?;
            let stdout = child.stdout.take().expect("stdout is piped");
            let events = events.clone();
            let reader = std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if events.send(serde_json::from_str::<RouteEvent>(&line).map_err(|e| (line, e))).is_err() {
                        break;
                    }
                }
            });
            watchers.push((cmd, child, reader));
        }
        drop(events);
        let mut bad = None;
        for event in received {
            match event {
                Ok(event) => on_event(event),
                Err((line, e)) => bad = bad.or(Some(format!("unreadable event `{line}`: {e}"))),
            }
        }
        for (cmd, mut child, reader) in watchers {
            let _ = reader.join();
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            let status = child.wait().map_err(|e| LabError::Command {
                command: cmd.display(),
                status: format!("cannot wait: {e}"),
                stderr: String::new(),
            })?;
            if !status.success() {
                return Err(LabError::Command {
                    command: cmd.display(),
                    status: status.to_string(),
                    stderr: stderr.trim().to_string(),
                });
            }
        }
        match bad {
            Some(why) => Err(LabError::Command {
                command: "hortus status --watch --json".into(),
                status: why,
                stderr: String::new(),
            }),
            None => Ok(()),
        }
    }
}
