//! nftables text shared by the renderers writing a table of their own
//! (the forwarders' NAT, the perimeter): the ruleset that replaces the
//! table as a whole, its chains, and the oneshot unit loading it.

use crate::HEADER;

/// A ruleset replacing table `inet <table>` as a whole (safe to load again
/// after a plan change): `table`, `delete table`, then the table with `body`.
pub(crate) fn ruleset(comment: &str, table: &str, body: &str) -> String {
    format!("{HEADER}\n# {comment}\ntable inet {table}\ndelete table inet {table}\ntable inet {table} {{\n{body}}}\n")
}

/// A base chain with policy accept.
pub(crate) fn chain(name: &str, kind: &str, hook: &str, priority: &str, rules: &str) -> String {
    format!("  chain {name} {{\n    type {kind} hook {hook} priority {priority}; policy accept;\n{rules}  }}\n")
}

/// A oneshot unit loading `file` with `nft`, deleting `table` when stopped,
/// before the network comes up.
pub(crate) fn unit(comment: &str, description: &str, nft: &str, file: &str, table: &str) -> String {
    format!(
        "{HEADER}
# {comment}
[Unit]
Description={description}
Before=network-pre.target
Wants=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart={nft} -f {file}
ExecStop={nft} delete table inet {table}

[Install]
WantedBy=multi-user.target
"
    )
}
