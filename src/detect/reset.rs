//! Reset times printed in usage-limit banners (SPEC §7, `../shared/research/cli-banners.md`).
//! Pure: the capture time and the local zone are passed in ([`local_zone`] reads them from the
//! environment for the caller).
//!
//! The text is normalised first: ANSI escapes are dropped, U+2019/U+2018 become `'`, and any run
//! of whitespace (newlines where the terminal wrapped a line, U+00A0 and other odd spaces)
//! becomes one space. Then three kinds of reading are collected, each where it starts in the
//! text, and the one that starts last (newest, lowest on screen) wins:
//!
//! * **Clock and date** after a keyword (`resets`, `reset at`, `try again at`,
//!   `continue automatically at`): `resets 6:50pm (America/Los_Angeles)`,
//!   `resets Nov 26, 7pm (Europe/Berlin)`, `try again at Nov 25th, 2026 8:19 AM`,
//!   `Access resets at 10:16 PM EST`. Read in the named zone, else in the zone named by the
//!   nearest reading above it in the same text (Claude Code prints every time of one screen in
//!   its process zone but names it only in the banner, not in the footer or the chooser), else
//!   ([`parse_on_screen`]) in the zone named for the same clock elsewhere on the screen, else
//!   in `local`.
//! * **Relative**: `try again in 4 days 6 hours 37 minutes`, `Please retry in 9000s`,
//!   `Suggested retry after 9000s`, `in 2h 13m`; and `"resets_in_seconds":13872`. Read against
//!   the capture time. Client-side backoff countdowns are not resets: anything after
//!   `retrying` (`Retrying in 24s · attempt 7/10`, `[retrying in 9s attempt #3]`,
//!   `Retrying in 8.0 seconds...`), and aider 0.43's `Retry in 0.7 seconds.`
//!   (bare `retry in` with a spelled-out unit; Gemini's server text uses `s`/`ms`).
//! * **Epoch seconds**: `Claude AI usage limit reached|1760004000`, `"resets_at":1777936568`
//!   (the JSON key and number may be wrapped across lines).
//!
//! No slack is added, and a reset in the past is returned as it is: the caller treats it as
//! "probe now", and decides what is absurd.

mod tz;
mod zone;

use std::sync::LazyLock;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, TimeDelta};
use regex::{Captures, Regex};

pub use tz::{Tz, TzOffset, UnknownZone};
pub use zone::{Zone, local_zone, parse_zone};

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
/// `None` when the text names no reset. When it names several, the last one (lowest on the
/// screen) wins.
///
/// Forms, by the CLI and version whose banner prints them:
///
/// * Claude Code 1.0.x: `Your limit will reset at 9am (America/Chicago).`, `reset at 12am.`,
///   `reset at 1pm (Etc/GMT+5)` (that zone is UTC−5).
/// * Claude Code 1.0.89–2.0.x: `5-hour limit reached ∙ resets 5am`,
///   `Opus weekly limit reached ∙ resets Oct 31, 9am`, `resets Oct 24` (a date alone is the
///   start of that day).
/// * Claude Code 2.1.4–2.1.263: `You've hit your limit · resets 10pm (America/New_York)`,
///   `resets 6:50pm (America/Los_Angeles)`, `resets Nov 26, 7pm (Europe/Berlin)`,
///   `resets Nov 26, 2027, 7pm`, `resets Sep 15 at 7pm`.
/// * Claude Code 2.1.329–2.1.330: `limit resets 4am`, `continuing automatically at 4am`,
///   `continue automatically at 3:59pm`.
/// * Claude Code print/SDK mode (1.0.x–2.0.x): `Claude AI usage limit reached|1760004000`.
/// * Codex CLI 0.169: `try again at 11:15 PM.`, `Try again at Nov 25th, 2026 8:19 AM.` (the
///   machine's local time, no zone); Codex 0.39: `try again in 5 days 22 hours 11 minutes.`;
///   the backend JSON (`codex exec --json`, pi 0.73): `"resets_at":1777936568`,
///   `"resets_in_seconds":13872`.
/// * Gemini CLI 0.61: `Access resets at 10:16 PM EST.`, `Access resets at 9:30 PM GMT+5:30.`,
///   `Please retry in 9000s.`, `Suggested retry after 9000s.`; Gemini CLI 0.1–0.10:
///   `Please retry in 15.002899939s`, `retry in 500ms`.
/// * aider 0.86 (litellm, the `OpenAI` server's own hint): `Please try again in 3.2s.` is read
///   as a relative reset, like Gemini's `Please retry in`; aider's own backoff
///   (`Retrying in 8.0 seconds...`, 0.43's `Retry in 0.7 seconds.`) is not.
/// * Generic: `in 2h 13m`, `in 3 days 6 hours 57 minutes`, `in 45 minutes`, `in 1 hour`.
///
/// A clock time without a date is its next occurrence at or after `captured`, except that one
/// at most 5 minutes before `captured` is that past time (the banner was printed just before
/// the capture). A date without a year is in the year that puts it at or after one day before
/// `captured`. `12am` is 00:00, `12pm` noon.
pub fn parse(text: &str, captured: DateTime<FixedOffset>, local: Tz) -> Option<Reset> {
    parse_with(text, &[], captured, local)
}

/// [`parse`] for a banner `text` cut from a larger `screen`: a clock that names no zone, and
/// inherits none from a reading above it in `text`, is read in the zone the screen names for
/// the same clock on another line (the same time of day, and the same date if both name one),
/// before `local`. Claude Code 2.1.329–2.1.330 draws "⎿ You've hit your 5-hour limit · resets
/// 3:59pm (`America/New_York`)" in the transcript and "⚠ Usage limit reached · limit resets
/// 3:59pm" in the footer below it: the footer is the newest banner, and its clock is the
/// transcript's, in the CLI's zone, whatever the watchdog's `$TZ`.
pub fn parse_on_screen(
    text: &str,
    screen: &str,
    captured: DateTime<FixedOffset>,
    local: Tz,
) -> Option<Reset> {
    let screen = normalize(screen);
    let mut named: Vec<Found> = Vec::new();
    clock_readings(&screen, &mut named);
    let hints: Vec<Clock> = named
        .into_iter()
        .filter_map(|f| match f.kind {
            Kind::Clock(c) if c.zone.is_some() => Some(c),
            _ => None,
        })
        .collect();
    parse_with(text, &hints, captured, local)
}

/// [`parse`], with `hints`: clocks elsewhere on the screen that name their zone.
fn parse_with(
    text: &str,
    hints: &[Clock],
    captured: DateTime<FixedOffset>,
    local: Tz,
) -> Option<Reset> {
    let text = normalize(text);
    let mut found: Vec<Found> = Vec::new();
    clock_readings(&text, &mut found);
    relative_readings(&text, &mut found);
    epoch_readings(&text, &mut found);
    found.sort_by_key(|f| f.start);

    let local = Zone::Iana(local);
    let mut inherited: Option<Zone> = None;
    let mut best: Option<Reset> = None;
    for f in &found {
        let at = match &f.kind {
            Kind::Clock(clock) => {
                if clock.zone.is_some() {
                    inherited = clock.zone;
                }
                let same = || hints.iter().rev().find(|h| h.same_clock(clock))?.zone;
                let zone = clock.zone.or(inherited).or_else(same).unwrap_or(local);
                clock.resolve(zone, captured)
            }
            Kind::After(delta) => captured
                .checked_add_signed(*delta)
                .map(|at| local.instant(at)),
            Kind::Epoch(at) => Some(local.instant(*at)),
        };
        if let Some(at) = at {
            best = Some(Reset {
                at,
                text: text[f.start..f.end].trim().to_string(),
            });
        }
    }
    best
}

/// One reading found in the normalised text, not yet resolved.
struct Found {
    start: usize,
    end: usize,
    kind: Kind,
}

enum Kind {
    Clock(Clock),
    After(TimeDelta),
    Epoch(DateTime<FixedOffset>),
}

/// A wall-clock reading: a date, a time of day, or both.
struct Clock {
    /// Month, day and the year if printed.
    date: Option<(u32, u32, Option<i32>)>,
    time: Option<NaiveTime>,
    /// The zone the banner names, if it names one.
    zone: Option<Zone>,
}

/// How far in the past a clock time without a date may be and still be today's.
const CLOCK_SLACK: TimeDelta = TimeDelta::minutes(5);
/// How far in the past a date without a year may be and still be this year's.
const DATE_SLACK: TimeDelta = TimeDelta::days(1);

impl Clock {
    /// Whether `other` names the same time of day (or, for a date alone, the same date), and
    /// the same date where both name one.
    fn same_clock(&self, other: &Clock) -> bool {
        let dates = match (self.date, other.date) {
            (Some((m1, d1, y1)), Some((m2, d2, y2))) => {
                m1 == m2 && d1 == d2 && (y1.is_none() || y2.is_none() || y1 == y2)
            }
            (None, None) => true,
            // One names a date, the other not: the same clock only by its time.
            _ => self.time.is_some() && other.time.is_some(),
        };
        dates && self.time == other.time
    }

    fn resolve(
        &self,
        zone: Zone,
        captured: DateTime<FixedOffset>,
    ) -> Option<DateTime<FixedOffset>> {
        let now = zone.wall(captured);
        let time = self.time.unwrap_or(NaiveTime::MIN);
        match self.date {
            Some((month, day, Some(year))) => {
                zone.at_wall(NaiveDate::from_ymd_opt(year, month, day)?.and_time(time))
            }
            Some((month, day, None)) => {
                let year = now.year();
                let candidates = [year.checked_sub(1), Some(year), year.checked_add(1)]
                    .into_iter()
                    .flatten()
                    .filter_map(|y| NaiveDate::from_ymd_opt(y, month, day))
                    .filter_map(|d| zone.at_wall(d.and_time(time)));
                earliest_since(candidates, captured.checked_sub_signed(DATE_SLACK)?)
            }
            None => {
                let today = now.date();
                let candidates = [today.pred_opt(), Some(today), today.succ_opt()]
                    .into_iter()
                    .flatten()
                    .filter_map(|d| zone.at_wall(d.and_time(time)));
                earliest_since(candidates, captured.checked_sub_signed(CLOCK_SLACK)?)
            }
        }
    }
}

fn earliest_since(
    candidates: impl Iterator<Item = DateTime<FixedOffset>>,
    since: DateTime<FixedOffset>,
) -> Option<DateTime<FixedOffset>> {
    candidates.filter(|&t| t >= since).min()
}

// ---------------------------------------------------------------------------------------------
// Normalisation

static ANSI: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
        .expect("static regex")
});

/// Drops ANSI escapes and zero-width characters, turns typographic apostrophes into `'` and
/// every run of whitespace or control characters into one space.
fn normalize(text: &str) -> String {
    let text = ANSI.replace_all(text, "");
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        let c = match c {
            '\u{2019}' | '\u{2018}' | '\u{02BC}' => '\'',
            '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => {
                continue;
            }
            c if c.is_whitespace() || c.is_control() => {
                pending_space = true;
                continue;
            }
            c => c,
        };
        if pending_space && !out.is_empty() {
            out.push(' ');
        }
        pending_space = false;
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Clock and date readings

const MONTHS: &str = r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?";

/// The zone in parentheses after a clock reading is at most this many characters; a longer
/// parenthetical is not a zone.
const ZONE_CHARS: usize = 64;

/// `CLOCK`'s pattern; `zone` is what a zone in parentheses may hold. The shipped `CLOCK` takes
/// any run (`[^()]+`) and [`clock_readings`] applies [`ZONE_CHARS`]: a `{1,64}` bound on a
/// Unicode class costs 64 copies of it in the compiled program (2.7M of the 8.8M
/// instructions this pattern took to compile). The bounded form is the test oracle.
fn clock_pattern(zone: &str) -> String {
    format!(
        r"(?ix)
        (?P<pre>
        \b(?:resets?(?:\s+at)?|try\s+again\s+at|continu(?:e|ing)\s+automatically\s+at)\s+
        (?:
            (?P<mon>{MONTHS})\.?\s+(?P<day>[0-9]{{1,2}})(?:st|nd|rd|th)?\b
            (?:\s*,?\s*(?P<year>[0-9]{{4}})\b)?
            (?:\s*,?\s+at\s+|\s*,\s*|\s+)?
        )?
        (?:
            (?P<h>[0-9]{{1,2}})(?::(?P<mi>[0-9]{{2}}))?\s*(?P<ap>[ap](?:\.\s?m\.|m\b))
          | (?P<h24>[0-9]{{1,2}}):(?P<m24>[0-9]{{2}})\b
        )?
        )
        (?:
            \s*\((?P<ptz>{zone})\)
          | \s+(?P<atz>(?-i:(?:GMT|UTC)[+\-\x{{2212}}][0-9]{{1,2}}(?::?[0-9]{{2}})?|[A-Z]{{2,5}}))\b
        )?"
    )
}

static CLOCK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&clock_pattern("[^()]+")).expect("static regex"));

/// One `CLOCK` match as the bounded pattern (`[^()]{1,64}` for the zone) reads it: a zone in
/// parentheses longer than [`ZONE_CHARS`] is no zone, and the match ends where the reading
/// before it ended (`pre`), so the next search starts there, as it did.
struct ClockMatch<'t> {
    caps: Captures<'t>,
    /// The zone in parentheses, if within bounds.
    ptz: Option<regex::Match<'t>>,
    start: usize,
    end: usize,
}

/// Every `CLOCK` match in `text`, in order, as [`ClockMatch`]es.
fn clock_matches(text: &str) -> impl Iterator<Item = ClockMatch<'_>> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let caps = CLOCK.captures_at(text, at)?;
        let (whole, pre) = (caps.get(0)?, caps.name("pre")?);
        let ptz = caps.name("ptz");
        let long = ptz.is_some_and(|p| p.as_str().chars().count() > ZONE_CHARS);
        let end = if long { pre.end() } else { whole.end() };
        // A match is never empty (it starts with a word): the next search starts at its end.
        at = end;
        Some(ClockMatch {
            ptz: ptz.filter(|_| !long),
            start: whole.start(),
            end,
            caps,
        })
    })
}

fn clock_readings(text: &str, found: &mut Vec<Found>) {
    for m in clock_matches(text) {
        if let Some((clock, end)) = read_clock(&m.caps, m.ptz, m.end) {
            found.push(Found {
                start: m.start,
                end,
                kind: Kind::Clock(clock),
            });
        }
    }
}

/// The clock reading of one `CLOCK` match and where its text ends; `None` when the match holds
/// neither a date nor a time, or holds an invalid one.
fn read_clock(
    c: &Captures<'_>,
    ptz: Option<regex::Match<'_>>,
    match_end: usize,
) -> Option<(Clock, usize)> {
    let num = |name: &str| c.name(name).and_then(|m| m.as_str().parse::<u32>().ok());
    let date = match (c.name("mon"), num("day")) {
        (Some(mon), Some(day)) => {
            let month = month_number(mon.as_str())?;
            let year = match c.name("year") {
                Some(y) => Some(y.as_str().parse::<i32>().ok()?),
                None => None,
            };
            if !(1..=31).contains(&day) {
                return None;
            }
            Some((month, day, year))
        }
        _ => None,
    };
    let time = if let Some(h) = num("h") {
        let minute = num("mi").unwrap_or(0);
        if !(1..=12).contains(&h) {
            return None;
        }
        let pm = c
            .name("ap")
            .is_some_and(|m| m.as_str().starts_with(['p', 'P']));
        let hour = (h % 12) + if pm { 12 } else { 0 };
        Some(NaiveTime::from_hms_opt(hour, minute, 0)?)
    } else if let Some(h) = num("h24") {
        Some(NaiveTime::from_hms_opt(h, num("m24")?, 0)?)
    } else {
        None
    };
    if date.is_none() && time.is_none() {
        return None;
    }
    // Where the text ends: after the zone if it names one, else after the date or time.
    let body_end = ["ap", "mi", "h", "m24", "year", "day"]
        .iter()
        .filter_map(|n| c.name(n).map(|m| m.end()))
        .max()
        .unwrap_or(match_end);
    let (zone, end) = if let Some(p) = ptz {
        // IANA names hold no spaces: one here is where the terminal wrapped the line.
        let name: String = if p.as_str().contains('/') {
            p.as_str().split_whitespace().collect()
        } else {
            p.as_str().to_string()
        };
        match parse_zone(&name) {
            Some(z) => (Some(z), match_end),
            // An unknown IANA-looking name: better no reading than one in the wrong zone.
            None if p.as_str().contains('/') => return None,
            // Some other parenthetical: not a zone.
            None => (None, body_end),
        }
    } else if let Some(a) = c.name("atz") {
        match parse_zone(a.as_str()) {
            Some(z) => (Some(z), match_end),
            None => (None, body_end),
        }
    } else {
        (None, body_end)
    };
    Some((Clock { date, time, zone }, end))
}

fn month_number(name: &str) -> Option<u32> {
    let prefix = name.get(..3)?.to_ascii_lowercase();
    let n = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ]
    .iter()
    .position(|&m| m == prefix)?;
    u32::try_from(n + 1).ok()
}

// ---------------------------------------------------------------------------------------------
// Relative readings

const UNIT: &str =
    r"(?:milliseconds?|msecs?|ms|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w|seconds?|secs?|s)";

static RELATIVE: LazyLock<Regex> = LazyLock::new(|| {
    let part = format!(r"[0-9]+(?:\.[0-9]+)?\s*{UNIT}");
    let pattern = format!(
        r"(?i)(?:\b(?P<kw>please\s+try\s+again|try\s+again|please\s+retry|suggested\s+retry|retrying|retry|resets?|available)\s+)?\b(?P<prep>in|after)\s+(?P<dur>{part}(?:(?:\s*,\s*|\s+and\s+|\s*){part})*)\b"
    );
    Regex::new(&pattern).expect("static regex")
});

static PART: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]+))?\s*(?P<unit>[a-z]+)")
        .expect("static regex")
});

/// A backoff countdown names its attempt right after the delay: `in 24s · attempt 7/10`.
static ATTEMPT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\W{0,4}(?:attempt|#[0-9])").expect("static regex"));

/// `"resets_in_seconds"` readings this close to a `"resets_at"` describe the same reset.
const SAME_JSON: usize = 400;

fn relative_readings(text: &str, found: &mut Vec<Found>) {
    for c in RELATIVE.captures_iter(text) {
        let (Some(whole), Some(prep), Some(dur)) = (c.get(0), c.name("prep"), c.name("dur")) else {
            continue;
        };
        let kw = c.name("kw").map(|m| {
            m.as_str()
                .to_ascii_lowercase()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        });
        let spelled_unit = PART
            .captures_iter(dur.as_str())
            .any(|p| p.name("unit").is_some_and(|u| u.as_str().len() > 2));
        let accepted = match kw.as_deref() {
            // Client backoff countdowns: Claude's `Retrying in 24s`, opencode's
            // `[retrying in 9s attempt #3]`, aider's `Retrying in 8.0 seconds...`.
            Some("retrying") => false,
            // aider 0.43 `Retry in 0.7 seconds.` is its backoff; Gemini's `retry in 500ms` is
            // the server's hint, in Go duration units.
            Some("retry") => !spelled_unit,
            Some(_) => true,
            None => prep.as_str().eq_ignore_ascii_case("in"),
        };
        if !accepted || ATTEMPT.is_match(&text[whole.end()..]) {
            continue;
        }
        if let Some(delta) = duration(dur.as_str()) {
            found.push(Found {
                start: whole.start(),
                end: whole.end(),
                kind: Kind::After(delta),
            });
        }
    }
    let epochs: Vec<usize> = EPOCH_KEY.find_iter(text).map(|m| m.start()).collect();
    for c in SECONDS_KEY.captures_iter(text) {
        let (Some(whole), Some(n)) = (c.get(0), c.name("n")) else {
            continue;
        };
        if epochs
            .iter()
            .any(|&e| e.abs_diff(whole.start()) <= SAME_JSON)
        {
            continue;
        }
        let Some(secs) = digits(n.as_str())
            .filter(|d| d.len() <= 12)
            .and_then(|d| d.parse().ok())
        else {
            continue;
        };
        found.push(Found {
            start: whole.start(),
            end: whole.end(),
            kind: Kind::After(TimeDelta::seconds(secs)),
        });
    }
}

/// Sum of the parts of a duration like `4 days 6 hours 37 minutes`, `2h 13m`, `15.0029s`,
/// computed exactly in nanoseconds. `None` when it overflows.
fn duration(text: &str) -> Option<TimeDelta> {
    let mut total: i128 = 0;
    for p in PART.captures_iter(text) {
        let unit = p.name("unit")?.as_str().to_ascii_lowercase();
        let nanos_per: i128 = match unit.as_str() {
            "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" => 1_000_000,
            "s" | "sec" | "secs" | "second" | "seconds" => 1_000_000_000,
            "m" | "min" | "mins" | "minute" | "minutes" => 60_000_000_000,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3_600_000_000_000,
            "d" | "day" | "days" => 86_400_000_000_000,
            "w" | "week" | "weeks" => 604_800_000_000_000,
            _ => return None,
        };
        let int: i128 = p.name("int")?.as_str().parse().ok()?;
        let mut part = int.checked_mul(nanos_per)?;
        if let Some(frac) = p.name("frac") {
            // Nanosecond precision is all there is; further digits are dropped.
            let frac = &frac.as_str()[..frac.as_str().len().min(18)];
            let num: i128 = frac.parse().ok()?;
            let den = 10i128.checked_pow(u32::try_from(frac.len()).ok()?)?;
            part = part.checked_add(num.checked_mul(nanos_per)? / den)?;
        }
        total = total.checked_add(part)?;
    }
    Some(TimeDelta::nanoseconds(i64::try_from(total).ok()?))
}

// ---------------------------------------------------------------------------------------------
// Epoch readings

/// A JSON key that tolerates one space between any two of its characters: the terminal may
/// wrap the line inside the key (`"rese` / `ts_at":1777936568`), and normalisation turned the
/// line break into a space.
fn wrapped_key(key: &str) -> String {
    let chars: Vec<String> = key.chars().map(|c| regex::escape(&c.to_string())).collect();
    format!(
        r#"(?:\\?"\s?)?\b{}\s?\\?"?\s?[:=]\s?"?"#,
        chars.join(r"\s?")
    )
}

/// Digits that may be wrapped like the key.
const NUMBER: &str = r"(?P<n>[0-9](?:\s?[0-9])*)";

static EPOCH_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!("(?i){}{NUMBER}", wrapped_key("resets_at"))).expect("static regex")
});

static SECONDS_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!("(?i){}{NUMBER}", wrapped_key("resets_in_seconds"))).expect("static regex")
});

/// Claude print mode: `Claude AI usage limit reached|1760004000`.
static EPOCH_PIPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"(?i)\busage\s+limit\s+reached\s?\|\s?{NUMBER}")).expect("static regex")
});

fn epoch_readings(text: &str, found: &mut Vec<Found>) {
    for re in [&*EPOCH_KEY, &*EPOCH_PIPE] {
        for c in re.captures_iter(text) {
            let (Some(whole), Some(n)) = (c.get(0), c.name("n")) else {
                continue;
            };
            if let Some(at) = digits(n.as_str()).and_then(|d| epoch(&d)) {
                found.push(Found {
                    start: whole.start(),
                    end: whole.end(),
                    kind: Kind::Epoch(at),
                });
            }
        }
    }
}

/// The digits of a number that may hold wrap spaces.
fn digits(n: &str) -> Option<String> {
    let d: String = n.chars().filter(char::is_ascii_digit).collect();
    (!d.is_empty()).then_some(d)
}

/// Unix seconds (9–11 digits) or milliseconds (12–14 digits).
fn epoch(d: &str) -> Option<DateTime<FixedOffset>> {
    let n: i64 = d.parse().ok()?;
    let at = match d.len() {
        9..=11 => DateTime::from_timestamp(n, 0)?,
        12..=14 => DateTime::from_timestamp_millis(n)?,
        _ => return None,
    };
    Some(at.fixed_offset())
}

#[cfg(test)]
mod tests;
