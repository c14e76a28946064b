//! Time zones named by banners, and the local zone.
//!
//! No zone table is written here: IANA names and rules come from [`Tz`] (the tzdb, through
//! Jiff). The only table is the short list of abbreviations, each mapped to the offset it
//! denotes (see [`parse_zone`]).

use std::str::FromStr;
use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeDelta, TimeZone, Timelike};
use regex::Regex;

use super::Tz;

/// A zone a wall-clock time can be read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// An IANA zone: its DST rules apply on the date read.
    Iana(Tz),
    /// A fixed offset from UTC, named by an abbreviation (`EST`) or an offset (`GMT+5:30`).
    Fixed(FixedOffset),
}

impl Zone {
    /// The instant at wall-clock `wall` in this zone.
    ///
    /// A time in a spring-forward gap (2:30am on the day New York jumps from 2:00 to 3:00)
    /// does not exist: it becomes the first wall-clock minute after the gap (3:00am, the
    /// instant of the change). A time repeated by a fall-back change takes its earlier
    /// instant (the one still on summer time). `None` only at the ends of chrono's range.
    pub fn at_wall(&self, wall: NaiveDateTime) -> Option<DateTime<FixedOffset>> {
        match self {
            Zone::Iana(tz) => resolve(tz, wall),
            Zone::Fixed(off) => resolve(off, wall),
        }
    }

    /// Wall-clock reading of `instant` in this zone.
    pub fn wall(&self, instant: DateTime<FixedOffset>) -> NaiveDateTime {
        self.instant(instant).naive_local()
    }

    /// `instant`, carrying this zone's offset at that instant.
    pub fn instant(&self, instant: DateTime<FixedOffset>) -> DateTime<FixedOffset> {
        match self {
            Zone::Iana(tz) => instant.with_timezone(tz).fixed_offset(),
            Zone::Fixed(off) => instant.with_timezone(off),
        }
    }
}

/// Longest gap searched for a nonexistent wall time: Pacific/Apia skipped a whole day in 2011.
const MAX_GAP_MINUTES: u32 = 2 * 24 * 60;

fn resolve<Z: TimeZone>(zone: &Z, wall: NaiveDateTime) -> Option<DateTime<FixedOffset>> {
    if let Some(t) = zone.from_local_datetime(&wall).earliest() {
        return Some(t.fixed_offset());
    }
    let mut probe = wall.with_second(0)?.with_nanosecond(0)?;
    for _ in 0..MAX_GAP_MINUTES {
        probe = probe.checked_add_signed(TimeDelta::minutes(1))?;
        if let Some(t) = zone.from_local_datetime(&probe).earliest() {
            return Some(t.fixed_offset());
        }
    }
    None
}

/// Common zone abbreviations and the UTC offset each one denotes, in minutes.
///
/// An abbreviation that says whether summer time is in force (`EST` vs `EDT`, `CET` vs `CEST`)
/// pins the offset, so it maps to that fixed offset, not to a representative IANA zone: Gemini
/// CLI 0.61 prints `10:16 PM EST` with `Intl` `timeZoneName: "short"`, and `EST` is UTC−5 even
/// if read in July. Where an abbreviation is ambiguous the most likely reading of a coding-agent
/// banner is taken: `IST` is India (Asia/Kolkata, +5:30), `CST` is US Central, `BST` is British
/// Summer Time.
const ABBREVIATIONS: &[(&str, i32)] = &[
    ("UTC", 0),
    ("UT", 0),
    ("GMT", 0),
    ("Z", 0),
    ("WET", 0),
    ("WEST", 60),
    ("BST", 60),
    ("IST", 330),
    ("CET", 60),
    ("CEST", 120),
    ("MET", 60),
    ("MEST", 120),
    ("EET", 120),
    ("EEST", 180),
    ("MSK", 180),
    ("WAT", 60),
    ("CAT", 120),
    ("SAST", 120),
    ("EAT", 180),
    ("GST", 240),
    ("PKT", 300),
    ("NPT", 345),
    ("ICT", 420),
    ("WIB", 420),
    ("HKT", 480),
    ("SGT", 480),
    ("AWST", 480),
    ("KST", 540),
    ("JST", 540),
    ("ACST", 570),
    ("ACDT", 630),
    ("AEST", 600),
    ("AEDT", 660),
    ("NZST", 720),
    ("NZDT", 780),
    ("NST", -210),
    ("NDT", -150),
    ("AST", -240),
    ("ADT", -180),
    ("BRT", -180),
    ("ART", -180),
    ("EST", -300),
    ("EDT", -240),
    ("CST", -360),
    ("CDT", -300),
    ("MST", -420),
    ("MDT", -360),
    ("PST", -480),
    ("PDT", -420),
    ("AKST", -540),
    ("AKDT", -480),
    ("HST", -600),
    ("HDT", -540),
];

/// Generic (season-less) abbreviations: these name a region, not an offset, so they map to a
/// representative IANA zone whose DST rules then decide the offset on the date read.
const GENERIC: &[(&str, &str)] = &[
    ("ET", "America/New_York"),
    ("CT", "America/Chicago"),
    ("MT", "America/Denver"),
    ("PT", "America/Los_Angeles"),
    ("AKT", "America/Anchorage"),
];

/// `GMT+5:30`, `UTC-3`, `GMT+05:30`, `UTC+0530`, `+05:30`: a sign is required and the sign
/// means what it says (east of Greenwich is `+`), unlike POSIX `Etc/GMT+5`.
static OFFSET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:gmt|utc|ut)?\s*([+\-\x{2212}])\s*([0-9]{1,2})(?::?([0-9]{2}))?$")
        .expect("static regex")
});

/// Parses a zone named in a banner: an IANA name (`America/Los_Angeles`, `Etc/GMT+5` which is
/// UTC−5), a common abbreviation (`EST`, `CEST`, `IST` = India, `JST`, `AEST`, ...; see
/// `ABBREVIATIONS` for the fixed offsets and the generic `ET`/`CT`/`MT`/`PT` that map to an IANA
/// zone) or an offset (`GMT+5:30`, `UTC-3`, as Gemini CLI 0.61 prints for zones without an
/// abbreviation). Abbreviations are matched before IANA names, since tzdb's legacy `EST`,
/// `CET`, `MET` zones differ from what the abbreviation says. `None` for anything else.
pub fn parse_zone(name: &str) -> Option<Zone> {
    let name = name.trim();
    if name.is_empty() || name.len() > 64 {
        return None;
    }
    if let Some(&(_, minutes)) = ABBREVIATIONS
        .iter()
        .find(|(abbr, _)| abbr.eq_ignore_ascii_case(name))
    {
        return FixedOffset::east_opt(minutes * 60).map(Zone::Fixed);
    }
    if let Some(&(_, tz)) = GENERIC
        .iter()
        .find(|(abbr, _)| abbr.eq_ignore_ascii_case(name))
    {
        return Tz::from_str(tz).ok().map(Zone::Iana);
    }
    if let Some(c) = OFFSET.captures(name) {
        let hours: i32 = c[2].parse().ok()?;
        let minutes: i32 = c.get(3).map_or(Some(0), |m| m.as_str().parse().ok())?;
        if hours > 14 || minutes > 59 {
            return None;
        }
        let secs = (hours * 60 + minutes) * 60;
        let secs = if &c[1] == "+" { secs } else { -secs };
        return FixedOffset::east_opt(secs).map(Zone::Fixed);
    }
    Tz::from_str(name).ok().map(Zone::Iana)
}

/// The local zone: `$TZ` when it names an IANA zone (a leading `:` allowed, as is a path into a
/// `zoneinfo` directory), else the system zone (from `iana-time-zone`), else UTC.
///
/// This is the `local` to pass to [`parse`](super::parse) for banners that name no zone:
/// Codex CLI 0.169 (`try again at 11:15 PM`) prints the local time of the machine running it,
/// and Claude Code 2.1.329's footer (`limit resets 4am`) omits the zone its banner names.
pub fn local_zone() -> Tz {
    zone_from_tz_var(std::env::var("TZ").ok().as_deref())
        .or_else(|| {
            iana_time_zone::get_timezone()
                .ok()
                .and_then(|name| Tz::from_str(&name).ok())
        })
        .unwrap_or(Tz::UTC)
}

/// The IANA zone a `$TZ` value names, if it names one.
pub(super) fn zone_from_tz_var(value: Option<&str>) -> Option<Tz> {
    let value = value?.trim();
    let value = value.strip_prefix(':').unwrap_or(value);
    let name = value
        .rsplit_once("zoneinfo/")
        .map_or(value, |(_, name)| name);
    Tz::from_str(name).ok()
}
