//! BIRD's view over its control socket (the protocol `birdc` speaks):
//! `show babel neighbors` and `show babel routes`.

use crate::error::{Error, Result};
use crate::live::{BabelRoute, BabelSource, BabelView, Neighbour};
use std::io::{BufRead, BufReader, Write};
use std::net::Ipv6Addr;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

/// Where NixOS' `services.bird` puts the control socket.
pub const DEFAULT_SOCKET: &str = "/run/bird/bird.ctl";

/// A BIRD control socket.
#[derive(Debug, Clone)]
pub struct Bird {
    /// Its path.
    pub socket: PathBuf,
}

impl BabelSource for Bird {
    fn view(&self) -> Result<BabelView> {
        let err = |source| Error::Socket { what: "BIRD control socket", path: self.socket.clone(), source };
        let stream = UnixStream::connect(&self.socket).map_err(err)?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).map_err(err)?;
        let mut reader = BufReader::new(stream.try_clone().map_err(err)?);
        read_reply(&mut reader).map_err(err)?;
        let mut ask = |command: &str| -> Result<Vec<String>> {
            (&stream).write_all(format!("{command}\n").as_bytes()).map_err(err)?;
            read_reply(&mut reader).map_err(err)
        };
        let neighbours = parse_neighbours(&ask("show babel neighbors")?);
        let routes = parse_routes(&ask("show babel routes")?);
        Ok(BabelView { neighbours, routes })
    }
}

/// Reads one reply: lines up to the first whose 4-digit code is followed
/// by a space (the last line). Continuation lines start with a space.
fn read_reply(reader: &mut impl BufRead) -> std::io::Result<Vec<String>> {
    let mut lines = vec![];
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "BIRD closed the socket"));
        }
        let line = line.trim_end_matches('\n').to_string();
        let last = line.len() >= 5 && line.as_bytes()[..4].iter().all(u8::is_ascii_digit) && line.as_bytes()[4] == b' ';
        lines.push(line);
        if last {
            return Ok(lines);
        }
    }
}

/// The text of a reply's lines, codes stripped.
fn bodies(lines: &[String]) -> impl Iterator<Item = &str> {
    lines.iter().map(|l| l.strip_prefix(' ').unwrap_or_else(|| l.get(5..).unwrap_or("")))
}

/// `show babel neighbors`: `IP address  Interface  Metric  Routes ...`.
fn parse_neighbours(lines: &[String]) -> Vec<Neighbour> {
    bodies(lines)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some(Neighbour {
                address: f.first()?.parse().ok()?,
                interface: f.get(1)?.to_string(),
                cost: f.get(2)?.parse().ok()?,
            })
        })
        .collect()
}

/// `show babel routes`: `Prefix Nexthop Interface Metric F Seqno Expires`,
/// the selected route of a prefix marked `*` in the F column.
fn parse_routes(lines: &[String]) -> Vec<BabelRoute> {
    bodies(lines)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() != 7 || f[4] != "*" {
                return None;
            }
            let destination: Ipv6Addr = f[0].strip_suffix("/128")?.parse().ok()?;
            Some(BabelRoute {
                destination,
                next_hop: f[1].parse().ok(),
                interface: f[2].to_string(),
                metric: f[3].parse().ok()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(String::from).collect()
    }

    #[test]
    fn reads_replies_up_to_the_last_line() {
        let text = "1024-mesh:\n IP address  Interface\n fe80::1 wg-a 96 1 4 1.2 No 2.5\n0000 \n1025-next\n";
        let mut reader = std::io::Cursor::new(text);
        assert_eq!(read_reply(&mut reader).unwrap().len(), 4);
    }

    #[test]
    fn parses_neighbours_and_selected_routes() {
        // As BIRD 3.1.8 prints them in the lab.
        let n = parse_neighbours(&lines(
            "1024-mesh:\n IP address                Interface  Metric Routes Hellos Expires Auth  RTT (ms)\n fe80::adef:a1cb:8579:32e1 wg-kaambl      96      1      4   1.294 No       2.594\n0000 ",
        ));
        assert_eq!(
            n,
            vec![Neighbour {
                interface: "wg-kaambl".into(),
                address: "fe80::adef:a1cb:8579:32e1".parse().unwrap(),
                cost: 96
            }]
        );
        let r = parse_routes(&lines(
            "1025-mesh:\n Prefix                   Nexthop                   Interface Metric F Seqno Expires\n fdcc::6/128              fe80::cf3e:ae38:f229:6203 wg-azasos     96 *     1   5.651\n fdcc::6/128              fe80::b88b:68e0:2041:e0e6 wg-abhoth    192       1   5.768\n0000 ",
        ));
        assert_eq!(r.len(), 1);
        assert_eq!(
            (r[0].destination, r[0].interface.as_str(), r[0].metric),
            ("fdcc::6".parse().unwrap(), "wg-azasos", 96)
        );
    }
}
