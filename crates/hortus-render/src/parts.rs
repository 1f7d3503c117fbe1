//! Every file a host runs, by part: what `hortus render` writes (one part,
//! or `--format all`) and what `hortus diff` compares between two plans.

use crate::{babeld, bird, endpoints, failover, firewall, forwarder, networkd, service, sysctl};
use crate::{RenderError, RenderedFile};
use hortus_plan::HostPlan;

/// One part of a host's files, each read by its own consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    /// `bird.conf` (BIRD 3).
    Bird,
    /// `babeld.conf`.
    Babeld,
    /// systemd-networkd's `.netdev`/`.network` files (`networkd/`).
    Networkd,
    /// The phantun units and NAT table (`forwarder/`).
    Forwarder,
    /// The sysctl.d file (`sysctl.d/`).
    Sysctl,
    /// The perimeter table and its unit (`firewall/`).
    Firewall,
    /// The `hortus endpoints` unit (`endpoints/`).
    Endpoints,
    /// The `hortus failover` unit (`failover/`).
    Failover,
}

impl Part {
    /// Every part, in the order `--format all` writes them.
    pub const ALL: [Part; 8] = [
        Part::Bird,
        Part::Babeld,
        Part::Networkd,
        Part::Forwarder,
        Part::Sysctl,
        Part::Firewall,
        Part::Endpoints,
        Part::Failover,
    ];

    /// The directory its files go to under `hortus render -o DIR` (the
    /// routing daemons' configs go to DIR itself).
    pub fn dir(self) -> Option<&'static str> {
        match self {
            Part::Bird | Part::Babeld => None,
            Part::Networkd => Some("networkd"),
            Part::Forwarder => Some("forwarder"),
            Part::Sysctl => Some("sysctl.d"),
            Part::Firewall => Some("firewall"),
            Part::Endpoints => Some("endpoints"),
            Part::Failover => Some("failover"),
        }
    }
}

/// The options of every renderer.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// BIRD's.
    pub bird: bird::Options,
    /// babeld's.
    pub babeld: babeld::Options,
    /// systemd-networkd's (the private key file's path is required).
    pub networkd: networkd::Options,
    /// The forwarders'.
    pub forwarder: forwarder::Options,
    /// The perimeter's.
    pub firewall: firewall::Options,
    /// The hortus host services' (endpoints, failover).
    pub services: service::Options,
}

/// The files of `part` for `host`, checked (names relative to the part's
/// directory, [`Part::dir`]).
pub fn render(host: &HostPlan, opts: &Options, part: Part) -> Result<Vec<RenderedFile>, RenderError> {
    Ok(match part {
        Part::Bird => {
            bird::validate(&opts.bird)?;
            vec![RenderedFile { name: "bird.conf".into(), contents: bird::render(host, &opts.bird) }]
        }
        Part::Babeld => {
            babeld::validate(host, &opts.babeld)?;
            vec![RenderedFile { name: "babeld.conf".into(), contents: babeld::render(host, &opts.babeld) }]
        }
        Part::Networkd => networkd::render(host, &opts.networkd)?,
        Part::Forwarder => forwarder::render(host, &opts.forwarder)?,
        Part::Sysctl => vec![sysctl::render(host)],
        Part::Firewall => firewall::render(host, &opts.firewall)?,
        Part::Endpoints => endpoints::render(host, &opts.services)?,
        Part::Failover => failover::render(host, &opts.services)?,
    })
}
