//! babeld's view over its local socket (`local-path` in babeld.conf):
//! the `dump` command's `add neighbour` and installed `add route` lines.

use crate::error::{Error, Result};
use crate::live::{BabelRoute, BabelSource, BabelView, Neighbour};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

/// The socket path hortus' babeld config asks for (`local-path`).
pub const DEFAULT_SOCKET: &str = "/run/babeld/babeld.sock";

/// A babeld local socket.
#[derive(Debug, Clone)]
pub struct Babeld {
    /// Its path.
    pub socket: PathBuf,
}

impl BabelSource for Babeld {
    fn view(&self) -> Result<BabelView> {
        let err = |source| Error::Socket { what: "babeld local socket", path: self.socket.clone(), source };
        let stream = UnixStream::connect(&self.socket).map_err(err)?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).map_err(err)?;
        let mut reader = BufReader::new(stream.try_clone().map_err(err)?);
        read_until_ok(&mut reader).map_err(err)?;
        (&stream).write_all(b"dump\n").map_err(err)?;
        let lines = read_until_ok(&mut reader).map_err(err)?;
        Ok(parse_dump(&lines))
    }
}

/// Lines up to babeld's `ok` (or `bad`/`no`, which end a reply too).
fn read_until_ok(reader: &mut impl BufRead) -> std::io::Result<Vec<String>> {
    let mut lines = vec![];
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "babeld closed the socket"));
        }
        let line = line.trim_end().to_string();
        if matches!(line.as_str(), "ok" | "bad" | "no") {
            return Ok(lines);
        }
        lines.push(line);
    }
}

/// The value after `key` in a `key value key value` line.
fn field<'a>(words: &[&'a str], key: &str) -> Option<&'a str> {
    words.windows(2).find(|w| w[0] == key).map(|w| w[1])
}

fn parse_dump(lines: &[String]) -> BabelView {
    let mut view = BabelView::default();
    for line in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.get(..2) {
            Some(["add", "neighbour"]) => {
                let neighbour = (|| {
                    Some(Neighbour {
                        address: field(&words, "address")?.parse().ok()?,
                        interface: field(&words, "if")?.to_string(),
                        cost: field(&words, "cost")?.parse().ok()?,
                    })
                })();
                view.neighbours.extend(neighbour);
            }
            Some(["add", "route"]) if field(&words, "installed") == Some("yes") => {
                let route = (|| {
                    Some(BabelRoute {
                        destination: field(&words, "prefix")?.strip_suffix("/128")?.parse().ok()?,
                        interface: field(&words, "if")?.to_string(),
                        next_hop: field(&words, "via").and_then(|v| v.parse().ok()),
                        metric: field(&words, "metric")?.parse().ok()?,
                    })
                })();
                view.routes.extend(route);
            }
            _ => {}
        }
    }
    view
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_dump() {
        let lines: Vec<String> = [
            "add interface wg-kaambl up true ipv6 fe80::1",
            "add neighbour 55d0c8 address fe80::2 if wg-kaambl reach ffff ureach 0000 rxcost 96 txcost 96 rtt 0.000 rttcost 0 cost 96",
            "add route 55e1a0 prefix fdcc::2/128 from ::/0 installed yes id 00:00:00:00:00:00:00:02 metric 96 price 96 fee 0 refmetric 0 via fe80::2 if wg-kaambl",
            "add route 55e1b0 prefix fdcc::2/128 from ::/0 installed no id 00:00:00:00:00:00:00:02 metric 192 price 96 fee 0 refmetric 96 via fe80::3 if wg-eihort",
        ]
        .map(String::from)
        .to_vec();
        let view = parse_dump(&lines);
        assert_eq!(view.neighbours.len(), 1);
        assert_eq!(view.neighbours[0].cost, 96);
        assert_eq!(view.routes.len(), 1, "installed routes only");
        assert_eq!(view.routes[0].interface, "wg-kaambl");
    }
}
