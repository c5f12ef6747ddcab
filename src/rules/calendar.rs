//! Service-hour calendars: weekly opening intervals in a time zone, holidays and closed dates, and
//! business-time arithmetic (the clock only runs while the service is open).
//!
//! Opening intervals are local civil times. They become instants with jiff's *compatible*
//! disambiguation: a time in a DST gap moves forward by the gap, a time in a fold takes its first
//! occurrence. So an interval spanning a transition lasts its real (shorter or longer) time, and
//! one that collapses inside a gap (e.g. 02:30–03:10 on a spring-forward day) is empty.
//!
//! Every operation works on the instants of the open *spans*: opening intervals turned into
//! instants, merged when they touch or overlap (also across midnight), so `is_open`,
//! `next_opening`, `next_closing` and the business-time functions always agree with each other.

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};

/// How far `next_opening`, `next_closing` and `add_business_time` look ahead for a change before
/// giving up: a schedule with no opening for this long is treated as closed for good.
pub const SEARCH_HORIZON_DAYS: i64 = 400;

const HORIZON: SignedDuration = SignedDuration::from_hours(SEARCH_HORIZON_DAYS * 24);

/// Bounds |UTC offset| (jiff caps offsets at ±25:59:59). Every instant of a local day lies within
/// this much of the same wall-clock reading in UTC, which tells the scanners below when no later
/// (or earlier) day can change a span any more, whatever the zone's rules.
const MAX_OFFSET: SignedDuration = SignedDuration::from_hours(26);

const ONE_DAY: SignedDuration = SignedDuration::from_hours(24);

/// Why a calendar definition was rejected. The messages are meant for people editing a rulebook;
/// the loader adds the file position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("opening interval {}-{} is empty: its start must be before its end", hm(*.start), hm(*.end))]
    EmptyInterval { start: Time, end: Time },
    #[error("{0:?} is not an opening interval: expected HH:MM-HH:MM (the end may be 24:00)")]
    IntervalSyntax(String),
    #[error("holiday {name:?}: {problem}")]
    InvalidHoliday { name: String, problem: String },
}

/// `HH:MM`, with seconds only when present: how rulebooks write times.
fn hm(t: Time) -> String {
    if t.second() == 0 && t.subsec_nanosecond() == 0 {
        format!("{:02}:{:02}", t.hour(), t.minute())
    } else {
        t.to_string()
    }
}

/// An opening interval on one local day, `[start, end)`.
///
/// `end: None` means "until 24:00", i.e. up to the start of the next day; `jiff::civil::Time`
/// cannot express 24:00 itself. Build intervals with [`Interval::new`],
/// [`Interval::until_midnight`] or by parsing `"08:00-20:00"`; an interval assembled by hand with
/// `start >= end` is not rejected by the schedule, it is simply never open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interval {
    pub start: Time,
    /// Exclusive end; `None` = 24:00 (end of the day).
    pub end: Option<Time>,
}

impl Interval {
    /// An interval ending before midnight; rejects `start >= end`.
    pub fn new(start: Time, end: Time) -> Result<Interval, CalendarError> {
        if start >= end {
            return Err(CalendarError::EmptyInterval { start, end });
        }
        Ok(Interval { start, end: Some(end) })
    }

    /// An interval from `start` to 24:00; never empty, since `start` is at most 23:59:59.999….
    pub fn until_midnight(start: Time) -> Interval {
        Interval { start, end: None }
    }

    /// Whether the interval contains any time at all.
    pub fn is_valid(&self) -> bool {
        self.end.is_none_or(|end| self.start < end)
    }

    /// Local datetimes of the interval on `date`; `None` if empty or past the end of the calendar.
    fn on(&self, date: Date) -> Option<(DateTime, DateTime)> {
        if !self.is_valid() {
            return None;
        }
        let end = match self.end {
            Some(end) => date.to_datetime(end),
            None => date.tomorrow().ok()?.to_datetime(Time::midnight()),
        };
        Some((date.to_datetime(self.start), end))
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = self.end.map_or_else(|| "24:00".to_string(), hm);
        write!(f, "{}-{}", hm(self.start), end)
    }
}

impl FromStr for Interval {
    type Err = CalendarError;

    /// Parses `HH:MM-HH:MM` (seconds allowed); the end may be `24:00`.
    fn from_str(s: &str) -> Result<Interval, CalendarError> {
        let syntax = || CalendarError::IntervalSyntax(s.to_string());
        let (start, end) = s.split_once('-').ok_or_else(syntax)?;
        let start: Time = start.trim().parse().map_err(|_| syntax())?;
        let end = end.trim();
        if matches!(end, "24:00" | "24:00:00") {
            return Ok(Interval::until_midnight(start));
        }
        let end: Time = end.parse().map_err(|_| syntax())?;
        Interval::new(start, end)
    }
}

/// A day on which the service is closed all day, recurring every year while in force.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HolidayRule {
    /// A fixed day every year, e.g. 25 April; optional first/last year in force (4 October is a
    /// national holiday from 2026, law 151/2025). 29 February only occurs in leap years.
    Fixed { month: i8, day: i8, name: String, from_year: Option<i16>, until_year: Option<i16> },
    /// Days after Easter Sunday (Easter Monday = 1; negative = before). The years in force refer
    /// to the year of the Easter Sunday it is counted from.
    Easter { offset_days: i16, name: String, from_year: Option<i16>, until_year: Option<i16> },
}

/// Largest accepted `offset_days`: beyond a year the rule no longer describes a feast of that
/// year's Easter, and is surely a typo.
pub const MAX_EASTER_OFFSET_DAYS: i16 = 365;

impl HolidayRule {
    pub fn name(&self) -> &str {
        match self {
            HolidayRule::Fixed { name, .. } | HolidayRule::Easter { name, .. } => name,
        }
    }

    /// Whether the rule applies in `year` (for Easter rules: the year of the Easter Sunday).
    pub fn in_force(&self, year: i16) -> bool {
        let (from, until) = match self {
            HolidayRule::Fixed { from_year, until_year, .. } | HolidayRule::Easter { from_year, until_year, .. } => {
                (*from_year, *until_year)
            }
        };
        from.is_none_or(|f| year >= f) && until.is_none_or(|u| year <= u)
    }

    /// The holiday's date for `year`, if in force and the date exists (29 February, calendar
    /// range). Easter rules with large offsets may land in a neighbouring year.
    pub fn date_in(&self, year: i16) -> Option<Date> {
        if !self.in_force(year) {
            return None;
        }
        match *self {
            HolidayRule::Fixed { month, day, .. } => Date::new(year, month, day).ok(),
            HolidayRule::Easter { offset_days, .. } => easter(year)?.checked_add(ONE_DAY * i32::from(offset_days)).ok(),
        }
    }

    /// Whether `date` is this holiday (in force that year).
    pub fn matches(&self, date: Date) -> bool {
        match *self {
            HolidayRule::Fixed { month, day, .. } => {
                date.month() == month && date.day() == day && self.in_force(date.year())
            }
            HolidayRule::Easter { offset_days, .. } => {
                // Work back to the Sunday it would count from, so any offset finds its year.
                let Ok(sunday) = date.checked_sub(ONE_DAY * i32::from(offset_days)) else {
                    return false;
                };
                self.in_force(sunday.year()) && easter(sunday.year()) == Some(sunday)
            }
        }
    }

    /// Checks the rule makes sense; the error's message says what is wrong.
    pub fn validate(&self) -> Result<(), CalendarError> {
        let problem = |problem: String| Err(CalendarError::InvalidHoliday { name: self.name().to_string(), problem });
        if self.name().trim().is_empty() {
            return problem("the name must not be empty".to_string());
        }
        let (from_year, until_year) = match self {
            HolidayRule::Fixed { month, day, from_year, until_year, .. } => {
                if !(1..=12).contains(month) {
                    return problem(format!("month {month} is not between 1 and 12"));
                }
                // A leap year, so that 29 February is accepted.
                let days = Date::new(2024, *month, 1).map_or(31, |d| d.days_in_month());
                if !(1..=days).contains(day) {
                    return problem(format!("day {day} does not exist in month {month} (which has {days} days)"));
                }
                (from_year, until_year)
            }
            HolidayRule::Easter { offset_days, from_year, until_year, .. } => {
                if offset_days.unsigned_abs() > MAX_EASTER_OFFSET_DAYS.unsigned_abs() {
                    return problem(format!(
                        "offset_days {offset_days} is more than {MAX_EASTER_OFFSET_DAYS} days from Easter"
                    ));
                }
                (from_year, until_year)
            }
        };
        if let (Some(from), Some(until)) = (from_year, until_year)
            && from > until
        {
            return problem(format!("from_year {from} is after until_year {until}, so it is never in force"));
        }
        Ok(())
    }
}

/// Easter Sunday (Gregorian computus, anonymous Gregorian algorithm), proleptically for any year.
/// Years outside jiff's calendar (-9999..=9999) are clamped into it.
pub fn easter_sunday(year: i16) -> Date {
    let year = year.clamp(Date::MIN.year(), Date::MAX.year());
    easter(year).unwrap_or(Date::MIN)
}

/// Easter Sunday, `None` outside jiff's calendar.
fn easter(year: i16) -> Option<Date> {
    // Euclidean division keeps every remainder in range, so negative years stay well defined and
    // the result is always 22 March–26 April at worst (never an invalid date).
    let y = i32::from(year);
    let a = y.rem_euclid(19);
    let b = y.div_euclid(100);
    let c = y.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let n = h + l - 7 * m + 114;
    let month = i8::try_from(n / 31).ok()?;
    let day = i8::try_from(n % 31 + 1).ok()?;
    Date::new(year, month, day).ok()
}

/// Italian national holidays (law 260/1949 as amended, with 4 October from 2026 by law
/// 151/2025), as currently in force; earlier changes (e.g. 6 January and 2 June, suspended in the
/// 1977–2000 era) are not modelled, and local patron saints are left to the rulebook.
pub fn italian_national_holidays() -> Vec<HolidayRule> {
    let fixed = |month, day, name: &str, from_year| HolidayRule::Fixed {
        month,
        day,
        name: name.to_string(),
        from_year,
        until_year: None,
    };
    vec![
        fixed(1, 1, "Capodanno", None),
        fixed(1, 6, "Epifania", None),
        HolidayRule::Easter {
            offset_days: 1,
            name: "Lunedì dell'Angelo".to_string(),
            from_year: None,
            until_year: None,
        },
        fixed(4, 25, "Festa della Liberazione", None),
        fixed(5, 1, "Festa del Lavoro", None),
        fixed(6, 2, "Festa della Repubblica", None),
        fixed(8, 15, "Ferragosto", None),
        fixed(10, 4, "San Francesco d'Assisi, patrono d'Italia", Some(2026)),
        fixed(11, 1, "Ognissanti", None),
        fixed(12, 8, "Immacolata Concezione", None),
        fixed(12, 25, "Natale", None),
        fixed(12, 26, "Santo Stefano", None),
    ]
}

/// Named service hours: a weekly pattern in a time zone, minus holidays and closed dates.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub time_zone: TimeZone,
    /// Opening intervals per weekday, Monday first. Overlapping intervals are allowed (merged).
    pub weekly: [Vec<Interval>; 7],
    pub holidays: Vec<HolidayRule>,
    /// Extra whole-day closures with their reason, e.g. a company closing day.
    pub closed_dates: Vec<(Date, String)>,
}

/// A stretch of open time `[start, end)`.
type Span = (Timestamp, Timestamp);

impl Calendar {
    /// A schedule that is never open; fill in the fields from there.
    pub fn closed(time_zone: TimeZone) -> Calendar {
        Calendar { time_zone, weekly: Default::default(), holidays: Vec::new(), closed_dates: Vec::new() }
    }

    /// Checks every interval and holiday rule, returning the first problem.
    pub fn validate(&self) -> Result<(), CalendarError> {
        for iv in self.weekly.iter().flatten() {
            if let Some(end) = iv.end
                && iv.start >= end
            {
                return Err(CalendarError::EmptyInterval { start: iv.start, end });
            }
        }
        self.holidays.iter().try_for_each(HolidayRule::validate)
    }

    /// Whether the service is open at `at`.
    pub fn is_open(&self, at: Timestamp) -> bool {
        let mut scan = Forward::new(self, at);
        matches!(scan.next(sat_add(at, SignedDuration::from_nanos(1))), Some((start, _, _)) if start == at)
    }

    /// The name of the holiday or the reason of the closed date that closes `date` (a local
    /// date in the schedule's zone), if any. Holidays come first.
    pub fn closure_reason(&self, date: Date) -> Option<&str> {
        self.holidays
            .iter()
            .find(|h| h.matches(date))
            .map(HolidayRule::name)
            .or_else(|| self.closed_dates.iter().find(|(d, _)| *d == date).map(|(_, reason)| reason.as_str()))
    }

    /// The first instant at or after `at` when the service is open: `at` itself if open now.
    /// `None` if it does not open within [`SEARCH_HORIZON_DAYS`].
    pub fn next_opening(&self, at: Timestamp) -> Option<Timestamp> {
        let mut scan = Forward::new(self, at);
        scan.next(sat_add(at, HORIZON)).map(|(start, _, _)| start)
    }

    /// When the open stretch containing `at` ends (the first closed instant). `None` if closed at
    /// `at`, or if it stays open for longer than [`SEARCH_HORIZON_DAYS`] (e.g. a 24/7 schedule).
    pub fn next_closing(&self, at: Timestamp) -> Option<Timestamp> {
        let mut scan = Forward::new(self, at);
        match scan.next(sat_add(at, HORIZON)) {
            Some((start, end, false)) if start == at => Some(end),
            _ => None,
        }
    }

    /// Adds business time: the clock runs only while open. E.g. 4h from Friday 18:00 with Mon–Fri
    /// 08–20, Sat 08–14 → Saturday 10:00. A negative amount counts backwards. When the amount
    /// runs out exactly at a closing (opening, going backwards) that instant is returned, and a
    /// zero amount returns `from` even if closed.
    ///
    /// `None` if the service stays closed for [`SEARCH_HORIZON_DAYS`] before the amount is used
    /// up, or the result is outside jiff's range. The cost grows with the span of days covered.
    pub fn add_business_time(&self, from: Timestamp, amount: SignedDuration) -> Option<Timestamp> {
        if amount.is_zero() {
            return Some(from);
        }
        if amount.is_positive() {
            // Business time cannot outrun wall time: reject hopeless amounts without scanning.
            if amount > Timestamp::MAX.duration_since(from) {
                return None;
            }
            let mut scan = Forward::new(self, from);
            let mut left = amount;
            let mut pos = from;
            loop {
                let (start, end, _) = scan.next(sat_add(pos, HORIZON))?;
                let open = end.duration_since(start);
                if left <= open {
                    return start.checked_add(left).ok();
                }
                left -= open;
                pos = end;
            }
        } else {
            let want = amount.checked_neg()?;
            if want > from.duration_since(Timestamp::MIN) {
                return None;
            }
            let mut scan = Backward::new(self, from);
            let mut left = want;
            let mut pos = from;
            loop {
                let (start, end, _) = scan.next(sat_add(pos, -HORIZON))?;
                let open = end.duration_since(start);
                if left <= open {
                    return end.checked_sub(left).ok();
                }
                left -= open;
                pos = start;
            }
        }
    }

    /// Business time elapsed between two instants (open time in `[from, to)`); negative if `to`
    /// is before `from`.
    pub fn business_time_between(&self, from: Timestamp, to: Timestamp) -> SignedDuration {
        if to < from {
            // Cannot overflow: the magnitude is at most the span of jiff's timestamps.
            return -self.business_time_between(to, from);
        }
        let mut scan = Forward::new(self, from);
        let mut total = SignedDuration::ZERO;
        while let Some((start, end, _)) = scan.next(to) {
            total += end.duration_since(start);
        }
        total
    }

    /// Open stretches contributed by one local date, unmerged.
    fn day_spans(&self, date: Date, closed: &mut ClosedDays, out: &mut Vec<Span>) {
        let weekday = usize::from(date.weekday().to_monday_zero_offset().unsigned_abs());
        let intervals = &self.weekly[weekday];
        if intervals.is_empty() || closed.contains(self, date) {
            return;
        }
        for iv in intervals {
            let Some((start, end)) = iv.on(date) else {
                continue;
            };
            let (Ok(start), Ok(end)) = (self.time_zone.to_timestamp(start), self.time_zone.to_timestamp(end)) else {
                continue;
            };
            // A compatible mapping can invert an interval that lies inside a DST gap.
            if start < end {
                out.push((start, end));
            }
        }
    }
}

/// The closed dates of one year, so that scanning day by day does not re-run every holiday rule
/// (and Easter's computus) for each day.
#[derive(Default)]
struct ClosedDays {
    year: Option<i16>,
    /// Sorted.
    dates: Vec<Date>,
}

impl ClosedDays {
    fn contains(&mut self, schedule: &Calendar, date: Date) -> bool {
        if self.year != Some(date.year()) {
            self.fill(schedule, date.year());
        }
        self.dates.binary_search(&date).is_ok()
    }

    fn fill(&mut self, schedule: &Calendar, year: i16) {
        self.year = Some(year);
        self.dates.clear();
        for rule in &schedule.holidays {
            match *rule {
                HolidayRule::Fixed { .. } => self.dates.extend(rule.date_in(year)),
                HolidayRule::Easter { offset_days, .. } => {
                    // The Easter years whose holiday can fall in `year`: at most two, even for
                    // offsets of many years.
                    let back = |d: Option<Date>| {
                        d.and_then(|d| d.checked_sub(ONE_DAY * i32::from(offset_days)).ok()).map(|d| d.year())
                    };
                    let (Some(first), Some(last)) =
                        (back(Date::new(year, 1, 1).ok()), back(Date::new(year, 12, 31).ok()))
                    else {
                        continue;
                    };
                    for easter_year in first..=last {
                        self.dates.extend(rule.date_in(easter_year).filter(|d| d.year() == year));
                    }
                }
            }
        }
        self.dates.extend(schedule.closed_dates.iter().map(|(d, _)| *d).filter(|d| d.year() == year));
        self.dates.sort_unstable();
    }
}

fn sat_add(ts: Timestamp, d: SignedDuration) -> Timestamp {
    ts.checked_add(d).unwrap_or(if d.is_negative() { Timestamp::MIN } else { Timestamp::MAX })
}

/// The instant whose UTC reading is `date` 00:00, saturated at jiff's limits.
fn utc_midnight(date: Date) -> Timestamp {
    Offset::UTC.to_timestamp(date.to_datetime(Time::midnight())).unwrap_or(if date.year() > 0 {
        Timestamp::MAX
    } else {
        Timestamp::MIN
    })
}

/// Sorts and merges touching or overlapping spans.
fn merge(spans: &mut Vec<Span>) {
    spans.sort_unstable();
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for &(start, end) in spans.iter() {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    *spans = merged;
}

/// Walks the open spans forwards from an instant, one local day at a time.
struct Forward<'a> {
    schedule: &'a Calendar,
    /// The next local date not yet loaded; `None` past the end of the calendar.
    next_day: Option<Date>,
    /// No span from an unloaded day starts before this, so spans ending earlier are final.
    known: Timestamp,
    /// Nothing before this is reported.
    floor: Timestamp,
    /// Loaded spans at or after `floor`, merged and sorted.
    pending: Vec<Span>,
    closed: ClosedDays,
}

impl<'a> Forward<'a> {
    fn new(schedule: &'a Calendar, from: Timestamp) -> Self {
        // Days more than 3 before the UTC date of `from` end before `from` in any zone.
        let utc_day = Offset::UTC.to_datetime(from).date();
        let first = utc_day.saturating_sub(ONE_DAY * 3);
        Forward {
            schedule,
            next_day: Some(first),
            known: sat_add(utc_midnight(first), -MAX_OFFSET),
            floor: from,
            pending: Vec::new(),
            closed: ClosedDays::default(),
        }
    }

    /// The next open span starting before `limit`, as `(start, end, cut)`: `end` is cut to
    /// `limit` when the span goes on (or might go on) past it; the rest stays for the next call.
    fn next(&mut self, limit: Timestamp) -> Option<(Timestamp, Timestamp, bool)> {
        loop {
            match self.pending.first().copied() {
                Some((start, end)) if start < limit && start <= self.known => {
                    if end < self.known && end <= limit {
                        self.pending.remove(0);
                        self.floor = end;
                        return Some((start, end, false));
                    }
                    if end > limit {
                        self.pending[0].0 = limit;
                        self.floor = limit;
                        return Some((start, limit, true));
                    }
                    if self.known >= limit {
                        // Ends exactly at `limit`, where it might go on: report it as cut.
                        self.pending.remove(0);
                        self.floor = end;
                        return Some((start, end, true));
                    }
                }
                _ if self.known >= limit => return None,
                _ => {}
            }
            self.load_day();
        }
    }

    fn load_day(&mut self) {
        let Some(day) = self.next_day else {
            self.known = Timestamp::MAX;
            return;
        };
        self.schedule.day_spans(day, &mut self.closed, &mut self.pending);
        let floor = self.floor;
        self.pending.retain_mut(|span| {
            span.0 = span.0.max(floor);
            span.0 < span.1
        });
        merge(&mut self.pending);
        self.next_day = day.tomorrow().ok();
        self.known = match self.next_day {
            Some(next) => sat_add(utc_midnight(next), -MAX_OFFSET),
            None => Timestamp::MAX,
        };
    }
}

/// Walks the open spans backwards from an instant: the mirror image of [`Forward`].
struct Backward<'a> {
    schedule: &'a Calendar,
    /// The next (earlier) local date not yet loaded; `None` before the start of the calendar.
    next_day: Option<Date>,
    /// No span from an unloaded day ends after this, so spans starting later are final.
    known: Timestamp,
    /// Nothing after this is reported.
    ceiling: Timestamp,
    /// Loaded spans at or before `ceiling`, merged and sorted.
    pending: Vec<Span>,
    closed: ClosedDays,
}

impl<'a> Backward<'a> {
    fn new(schedule: &'a Calendar, from: Timestamp) -> Self {
        let utc_day = Offset::UTC.to_datetime(from).date();
        let first = utc_day.saturating_add(ONE_DAY * 3);
        Backward {
            schedule,
            next_day: Some(first),
            known: Self::end_bound(first),
            ceiling: from,
            pending: Vec::new(),
            closed: ClosedDays::default(),
        }
    }

    /// Latest instant a span of `day` or earlier can reach: its UTC end of day plus an offset.
    fn end_bound(day: Date) -> Timestamp {
        sat_add(utc_midnight(day), ONE_DAY + MAX_OFFSET)
    }

    /// The latest open span ending after `limit`, as `(start, end, cut)`, `start` cut to `limit`.
    fn next(&mut self, limit: Timestamp) -> Option<(Timestamp, Timestamp, bool)> {
        loop {
            match self.pending.last().copied() {
                Some((start, end)) if end > limit && end >= self.known => {
                    if start > self.known && start >= limit {
                        self.pending.pop();
                        self.ceiling = start;
                        return Some((start, end, false));
                    }
                    if start < limit {
                        if let Some(last) = self.pending.last_mut() {
                            last.1 = limit;
                        }
                        self.ceiling = limit;
                        return Some((limit, end, true));
                    }
                    if self.known <= limit {
                        self.pending.pop();
                        self.ceiling = start;
                        return Some((start, end, true));
                    }
                }
                _ if self.known <= limit => return None,
                _ => {}
            }
            self.load_day();
        }
    }

    fn load_day(&mut self) {
        let Some(day) = self.next_day else {
            self.known = Timestamp::MIN;
            return;
        };
        self.schedule.day_spans(day, &mut self.closed, &mut self.pending);
        let ceiling = self.ceiling;
        self.pending.retain_mut(|span| {
            span.1 = span.1.min(ceiling);
            span.0 < span.1
        });
        merge(&mut self.pending);
        self.next_day = day.yesterday().ok();
        self.known = match self.next_day {
            Some(prev) => Self::end_bound(prev),
            None => Timestamp::MIN,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule() -> impl Strategy<Value = HolidayRule> {
        let years = (prop::option::of(1990i16..2060), prop::option::of(1990i16..2060));
        prop_oneof![
            (1i8..=12, 1i8..=31, years.clone()).prop_map(|(month, day, (from_year, until_year))| {
                HolidayRule::Fixed { month, day, name: format!("{day}/{month}"), from_year, until_year }
            }),
            (any::<i16>(), years).prop_map(|(offset_days, (from_year, until_year))| {
                HolidayRule::Easter {
                    // Mostly realistic offsets, sometimes absurd ones spanning decades.
                    offset_days: if offset_days % 4 == 0 { offset_days } else { offset_days % 400 },
                    name: format!("Easter{offset_days:+}"),
                    from_year,
                    until_year,
                }
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The per-year cache used by the scanners agrees with the rules read one day at a time.
        #[test]
        fn closed_days_cache_agrees_with_closure_reason(
            rules in prop::collection::vec(rule(), 0..6),
            days in prop::collection::vec(0i32..365 * 80, 1..40),
        ) {
            let mut schedule = Calendar::closed(TimeZone::UTC);
            schedule.holidays = rules;
            schedule.closed_dates.push((date_at(days[0]), "closed".into()));
            let mut cache = ClosedDays::default();
            for &n in &days {
                let d = date_at(n);
                prop_assert_eq!(cache.contains(&schedule, d), schedule.closure_reason(d).is_some(), "{}", d);
                // Neighbours of holidays too, as they are the likeliest to be off by one.
                for rule in &schedule.holidays {
                    if let Some(h) = rule.date_in(d.year()) {
                        for near in [h.yesterday(), Ok(h), h.tomorrow()].into_iter().flatten() {
                            prop_assert_eq!(
                                cache.contains(&schedule, near),
                                schedule.closure_reason(near).is_some(),
                                "{}", near
                            );
                        }
                    }
                }
            }
        }
    }

    fn date_at(n: i32) -> Date {
        jiff::civil::date(1985, 1, 1) + ONE_DAY * n
    }
}
