//! Reset times printed in usage-limit banners (SPEC §7, `../shared/research/cli-banners.md`).
//! Pure: the capture time and the local zone are passed in.

use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;

/// A reset time read from a banner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reset {
    /// When the limit resets, with the offset of the zone it was read in.
    pub at: DateTime<FixedOffset>,
    /// The fragment of the banner it was read from, e.g. `resets 6:50pm (America/Los_Angeles)`.
    pub text: String,
}

/// Finds and parses the reset time in `text` (a banner and the lines after it), read against
/// `captured` (the capture time) in `local` (the zone used when the banner names none).
/// `None` when the text names no reset.
pub fn parse(text: &str, captured: DateTime<FixedOffset>, local: Tz) -> Option<Reset> {
    let _ = (text, captured, local);
    None
}

/// The local zone: `$TZ` when it names an IANA zone, else UTC (stub until the parser lands).
pub fn local_zone() -> Tz {
    std::env::var("TZ")
        .ok()
        .and_then(|t| t.trim_start_matches(':').parse().ok())
        .unwrap_or(Tz::UTC)
}
