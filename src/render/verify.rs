//! `stackprov verify` for people.

use super::{Style, safe};

/// `verify`'s checks for one host: a line each, timed, then the traffic they cost.
pub fn verify_text(
    host: &str,
    checks: &[crate::verify::Check],
    http_requests: u64,
    transport: crate::transport::TransportStats,
    style: Style,
) -> String {
    let mut out = format!("{}\n", style.bold(&format!("{host}: verify")));
    for c in checks {
        let mark = if c.ok {
            style.green("ok  ")
        } else {
            style.red("FAIL")
        };
        out.push_str(&format!(
            "  {mark} {:22} {:>6.2}s  {}\n",
            safe(&c.name),
            c.seconds,
            safe(&c.detail)
        ));
    }
    out.push_str(&format!(
        "  {http_requests} HTTP request(s), {} SSH round trip(s)\n",
        transport.round_trips
    ));
    out
}
