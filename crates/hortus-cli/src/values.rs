//! Command-line values spelled as the plan spells them, parsed by the
//! type's own `Display` (so the two spellings cannot drift apart).

use hortus_plan::{IpFamily, Underlay};

/// `ipv4` or `ipv6`: an [`IpFamily`].
pub fn ip_family(text: &str) -> Result<IpFamily, String> {
    one_of(text, [IpFamily::Ipv4, IpFamily::Ipv6])
}

/// `ipv4`, `ipv6` or `dual`: an [`Underlay`].
pub fn underlay(text: &str) -> Result<Underlay, String> {
    one_of(text, [Underlay::Ipv4, Underlay::Ipv6, Underlay::Dual])
}

fn one_of<T: ToString + Copy, const N: usize>(text: &str, values: [T; N]) -> Result<T, String> {
    values.into_iter().find(|v| v.to_string() == text).ok_or_else(|| {
        let names: Vec<String> = values.iter().map(ToString::to_string).collect();
        format!("expected {}, got `{text}`", names.join(" or "))
    })
}
