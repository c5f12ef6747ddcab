//! Calendar engine: examples pinned by hand, then properties over random instants and schedules.

use jiff::civil::{Date, DateTime, Time, Weekday, date, time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use sportello::rules::calendar::{
    Calendar, CalendarError, HolidayRule, Interval, SEARCH_HORIZON_DAYS, easter_sunday, italian_national_holidays,
};

fn rome() -> TimeZone {
    TimeZone::get("Europe/Rome").unwrap()
}

fn iv(s: &str) -> Interval {
    s.parse().unwrap()
}

/// The default rulebook's hours: Mon–Fri 08–20, Sat 08–14, closed Sundays and national holidays.
fn default_schedule() -> Calendar {
    let weekday = vec![iv("08:00-20:00")];
    Calendar {
        time_zone: rome(),
        weekly: [
            weekday.clone(),
            weekday.clone(),
            weekday.clone(),
            weekday.clone(),
            weekday,
            vec![iv("08:00-14:00")],
            vec![],
        ],
        holidays: italian_national_holidays(),
        closed_dates: vec![],
    }
}

fn every_day(intervals: &[&str], tz: TimeZone) -> Calendar {
    let day: Vec<Interval> = intervals.iter().map(|s| iv(s)).collect();
    Calendar { weekly: std::array::from_fn(|_| day.clone()), ..Calendar::closed(tz) }
}

/// A local wall-clock time in Rome as an instant (compatible disambiguation).
fn rome_at(y: i16, mo: i8, d: i8, h: i8, mi: i8) -> Timestamp {
    rome().to_timestamp(date(y, mo, d).at(h, mi, 0, 0)).unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn h(n: i64) -> SignedDuration {
    SignedDuration::from_hours(n)
}

// ---------------------------------------------------------------------------------------------
// Easter and holidays

#[test]
fn easter_known_years() {
    for (y, m, d) in [
        (1818, 3, 22), // earliest possible
        (1943, 4, 25), // latest possible
        (2000, 4, 23),
        (2024, 3, 31),
        (2025, 4, 20),
        (2026, 4, 5),
        (2027, 3, 28),
        (2038, 4, 25),
        (2285, 3, 22),
    ] {
        assert_eq!(easter_sunday(y), date(y, m, d), "Easter {y}");
    }
}

#[test]
fn easter_is_a_sunday_in_spring_for_every_year_and_never_panics() {
    for y in i16::MIN..=i16::MAX {
        let e = easter_sunday(y);
        assert_eq!(e.weekday(), Weekday::Sunday, "{y}");
        assert!((date(e.year(), 3, 22)..=date(e.year(), 4, 25)).contains(&e), "{y}: {e}");
    }
    // Out-of-range years are clamped to jiff's calendar.
    assert_eq!(easter_sunday(20_000).year(), 9999);
    assert_eq!(easter_sunday(-20_000).year(), -9999);
}

#[test]
fn every_italian_holiday_of_2026_is_closed() {
    let s = default_schedule();
    let expected = [
        (date(2026, 1, 1), "Capodanno"),
        (date(2026, 1, 6), "Epifania"),
        (date(2026, 4, 6), "Lunedì dell'Angelo"),
        (date(2026, 4, 25), "Festa della Liberazione"),
        (date(2026, 5, 1), "Festa del Lavoro"),
        (date(2026, 6, 2), "Festa della Repubblica"),
        (date(2026, 8, 15), "Ferragosto"),
        (date(2026, 10, 4), "San Francesco d'Assisi, patrono d'Italia"),
        (date(2026, 11, 1), "Ognissanti"),
        (date(2026, 12, 8), "Immacolata Concezione"),
        (date(2026, 12, 25), "Natale"),
        (date(2026, 12, 26), "Santo Stefano"),
    ];
    assert_eq!(italian_national_holidays().len(), expected.len());
    for (d, name) in expected {
        assert_eq!(s.closure_reason(d), Some(name), "{d}");
        for h in 0..24 {
            assert!(!s.is_open(rome_at(2026, d.month(), d.day(), h, 30)), "{d} {h}:30");
        }
    }
    // Ordinary days around them are not closures.
    assert_eq!(s.closure_reason(date(2026, 4, 7)), None);
    assert_eq!(s.closure_reason(date(2026, 4, 5)), None); // Easter Sunday: closed as a Sunday only
    assert!(s.is_open(rome_at(2026, 4, 7, 9, 0)));
}

#[test]
fn fourth_of_october_is_a_holiday_only_from_2026() {
    let s = default_schedule();
    // 2025-10-04 is a Saturday and an ordinary working day.
    assert_eq!(date(2025, 10, 4).weekday(), Weekday::Saturday);
    assert_eq!(s.closure_reason(date(2025, 10, 4)), None);
    assert!(s.is_open(rome_at(2025, 10, 4, 10, 0)));
    assert!(!s.is_open(rome_at(2025, 10, 4, 14, 0)));
    // 2026-10-04 is a Sunday, closed anyway, but now also a holiday.
    assert!(s.closure_reason(date(2026, 10, 4)).is_some());
    // 2027-10-04 is a Monday: closed for the holiday.
    assert_eq!(date(2027, 10, 4).weekday(), Weekday::Monday);
    assert!(!s.is_open(rome_at(2027, 10, 4, 10, 0)));
    assert!(s.is_open(rome_at(2027, 10, 5, 10, 0)));
}

#[test]
fn holiday_rules_match_their_years() {
    let leap = HolidayRule::Fixed { month: 2, day: 29, name: "Leap day".into(), from_year: None, until_year: None };
    assert!(leap.validate().is_ok());
    assert!(leap.matches(date(2024, 2, 29)));
    assert_eq!(leap.date_in(2025), None);
    assert!(!leap.matches(date(2025, 3, 1)));

    let good_friday = HolidayRule::Easter {
        offset_days: -2,
        name: "Venerdì Santo".into(),
        from_year: Some(2026),
        until_year: Some(2027),
    };
    assert!(good_friday.matches(date(2026, 4, 3)));
    assert!(good_friday.matches(date(2027, 3, 26)));
    assert!(!good_friday.matches(date(2025, 4, 18)));
    assert!(!good_friday.matches(date(2028, 4, 14)));
    assert_eq!(good_friday.date_in(2026), Some(date(2026, 4, 3)));

    // Large offsets cross into the neighbouring year; the years in force follow the Easter.
    let far = HolidayRule::Easter { offset_days: -100, name: "Far".into(), from_year: Some(2026), until_year: None };
    assert_eq!(far.date_in(2026), Some(date(2025, 12, 26)));
    assert!(far.matches(date(2025, 12, 26)));
    assert!(!far.matches(date(2024, 12, 12))); // 100 days before Easter 2025: not in force
}

#[test]
fn holiday_validation_messages() {
    let fixed = |month, day, from_year, until_year| HolidayRule::Fixed {
        month,
        day,
        name: "Test".into(),
        from_year,
        until_year,
    };
    let msg = |r: HolidayRule| r.validate().unwrap_err().to_string();
    assert_eq!(msg(fixed(2, 30, None, None)), "holiday \"Test\": day 30 does not exist in month 2 (which has 29 days)");
    assert_eq!(msg(fixed(13, 1, None, None)), "holiday \"Test\": month 13 is not between 1 and 12");
    assert_eq!(msg(fixed(4, 31, None, None)), "holiday \"Test\": day 31 does not exist in month 4 (which has 30 days)");
    assert_eq!(
        msg(fixed(1, 1, Some(2027), Some(2026))),
        "holiday \"Test\": from_year 2027 is after until_year 2026, so it is never in force"
    );
    assert!(fixed(1, 1, Some(2026), Some(2026)).validate().is_ok());
    assert!(
        msg(HolidayRule::Easter { offset_days: 400, name: "X".into(), from_year: None, until_year: None })
            .contains("offset_days 400")
    );
    assert!(
        msg(HolidayRule::Fixed { month: 1, day: 1, name: " ".into(), from_year: None, until_year: None })
            .contains("name must not be empty")
    );
    for rule in italian_national_holidays() {
        rule.validate().unwrap();
    }
    // Invalid rules never panic when used; they simply never match.
    let bad = fixed(2, 30, None, None);
    assert!(!bad.matches(date(2024, 3, 1)));
    assert_eq!(bad.date_in(2024), None);
}

// ---------------------------------------------------------------------------------------------
// Intervals

#[test]
fn intervals_parse_validate_and_display() {
    assert_eq!(iv("08:00-20:00"), Interval::new(time(8, 0, 0, 0), time(20, 0, 0, 0)).unwrap());
    assert_eq!(iv("20:00 - 24:00"), Interval::until_midnight(time(20, 0, 0, 0)));
    assert_eq!(iv("00:00-24:00").to_string(), "00:00-24:00");
    assert_eq!(iv("08:30:15-09:00").to_string(), "08:30:15-09:00");
    assert_eq!(
        Interval::new(time(20, 0, 0, 0), time(8, 0, 0, 0)),
        Err(CalendarError::EmptyInterval { start: time(20, 0, 0, 0), end: time(8, 0, 0, 0) })
    );
    assert_eq!(
        "14:00-14:00".parse::<Interval>().unwrap_err().to_string(),
        "opening interval 14:00-14:00 is empty: its start must be before its end"
    );
    for bad in ["", "8-20", "08:00", "08:00-25:00", "24:00-24:00", "x-y"] {
        assert!(matches!(bad.parse::<Interval>(), Err(CalendarError::IntervalSyntax(_))), "{bad:?}");
    }
}

#[test]
fn hand_built_empty_intervals_are_never_open_and_fail_validation() {
    let mut s = every_day(&[], rome());
    s.weekly[0] = vec![Interval { start: time(20, 0, 0, 0), end: Some(time(8, 0, 0, 0)) }];
    assert!(s.validate().is_err());
    assert_eq!(s.next_opening(rome_at(2026, 3, 2, 0, 0)), None);
    assert!(default_schedule().validate().is_ok());
}

// ---------------------------------------------------------------------------------------------
// Opening, closing, business time in the default schedule

#[test]
fn weekly_hours() {
    let s = default_schedule();
    // 2026-03-07 is a Saturday, 2026-03-08 a Sunday.
    assert!(!s.is_open(rome_at(2026, 3, 7, 7, 59)));
    assert!(s.is_open(rome_at(2026, 3, 7, 8, 0)));
    assert!(s.is_open(rome_at(2026, 3, 7, 13, 59)));
    assert!(!s.is_open(rome_at(2026, 3, 7, 14, 0)));
    for h in 0..24 {
        assert!(!s.is_open(rome_at(2026, 3, 8, h, 0)));
    }
    assert!(s.is_open(rome_at(2026, 3, 6, 19, 59)));
    assert!(!s.is_open(rome_at(2026, 3, 6, 20, 0)));
    assert!(s.is_open(rome_at(2026, 3, 6, 20, 0) - SignedDuration::from_nanos(1)));
}

#[test]
fn next_opening_and_closing() {
    let s = default_schedule();
    let open = rome_at(2026, 3, 6, 10, 0);
    assert_eq!(s.next_opening(open), Some(open));
    assert_eq!(s.next_closing(open), Some(rome_at(2026, 3, 6, 20, 0)));
    assert_eq!(s.next_opening(rome_at(2026, 3, 6, 20, 0)), Some(rome_at(2026, 3, 7, 8, 0)));
    assert_eq!(s.next_closing(rome_at(2026, 3, 6, 20, 0)), None);
    assert_eq!(s.next_opening(rome_at(2026, 3, 7, 14, 0)), Some(rome_at(2026, 3, 9, 8, 0)));
    // Christmas Eve 2026 is a Thursday: Christmas, Santo Stefano and Sunday follow.
    assert_eq!(s.next_opening(rome_at(2026, 12, 24, 20, 0)), Some(rome_at(2026, 12, 28, 8, 0)));
    // Easter 2026: Saturday, Sunday, then Easter Monday closed.
    assert_eq!(s.next_opening(rome_at(2026, 4, 4, 14, 0)), Some(rome_at(2026, 4, 7, 8, 0)));
}

#[test]
fn business_time_in_the_default_schedule() {
    let s = default_schedule();
    let fri_18 = rome_at(2026, 3, 6, 18, 0);
    let sat_10 = rome_at(2026, 3, 7, 10, 0);
    assert_eq!(s.add_business_time(fri_18, h(4)), Some(sat_10));
    assert_eq!(s.business_time_between(fri_18, sat_10), h(4));
    assert_eq!(s.add_business_time(sat_10, -h(4)), Some(fri_18));
    assert_eq!(s.business_time_between(sat_10, fri_18), -h(4));
    // Running out exactly at closing gives the closing instant, not the next opening.
    assert_eq!(s.add_business_time(fri_18, h(2)), Some(rome_at(2026, 3, 6, 20, 0)));
    // Counting backwards from a closed time starts at the last closing.
    assert_eq!(s.add_business_time(rome_at(2026, 3, 8, 12, 0), -h(1)), Some(rome_at(2026, 3, 7, 13, 0)));
    // Friday 18:00 → Monday 09:00: 2h + 6h + 1h.
    assert_eq!(s.business_time_between(fri_18, rome_at(2026, 3, 9, 9, 0)), h(9));
    // A full week: 5 × 12h + 6h.
    assert_eq!(s.business_time_between(rome_at(2026, 3, 9, 0, 0), rome_at(2026, 3, 16, 0, 0)), h(66));
    // Zero from a closed instant stays put.
    let sun = rome_at(2026, 3, 8, 12, 0);
    assert_eq!(s.add_business_time(sun, SignedDuration::ZERO), Some(sun));
    assert_eq!(s.add_business_time(sun, h(1)), Some(rome_at(2026, 3, 9, 9, 0)));
}

#[test]
fn closed_dates() {
    let mut s = default_schedule();
    s.closed_dates.push((date(2026, 3, 9), "Chiusura straordinaria".into()));
    assert_eq!(s.closure_reason(date(2026, 3, 9)), Some("Chiusura straordinaria"));
    assert!(!s.is_open(rome_at(2026, 3, 9, 10, 0)));
    assert_eq!(s.next_opening(rome_at(2026, 3, 7, 14, 0)), Some(rome_at(2026, 3, 10, 8, 0)));
    // A holiday's name wins over a closed date on the same day.
    s.closed_dates.push((date(2026, 12, 25), "Ponte".into()));
    assert_eq!(s.closure_reason(date(2026, 12, 25)), Some("Natale"));
}

// ---------------------------------------------------------------------------------------------
// Daylight saving time (Europe/Rome: 2026-03-29 02:00→03:00, 2026-10-25 03:00→02:00)

#[test]
fn round_the_clock_across_dst() {
    let s = every_day(&["00:00-24:00"], rome());
    // 24 business hours are 24 real hours, whatever the wall clock says.
    let sat_noon = rome_at(2026, 3, 28, 12, 0);
    let got = s.add_business_time(sat_noon, h(24)).unwrap();
    assert_eq!(got, ts("2026-03-29T11:00:00Z"));
    assert_eq!(rome().to_datetime(got).hour(), 13);
    // The local days are 23h and 25h long.
    assert_eq!(s.business_time_between(rome_at(2026, 3, 29, 0, 0), rome_at(2026, 3, 30, 0, 0)), h(23));
    assert_eq!(s.business_time_between(rome_at(2026, 10, 25, 0, 0), rome_at(2026, 10, 26, 0, 0)), h(25));
    assert!(s.is_open(ts("2026-03-29T01:00:00Z"))); // 03:00 CEST
    assert!(s.is_open(ts("2026-10-25T01:30:00Z"))); // second 02:30
    // Never closes within the search horizon.
    assert_eq!(s.next_closing(sat_noon), None);
    assert_eq!(s.next_opening(sat_noon), Some(sat_noon));
    // Long additions still run (clock never stops).
    let year = h(24 * 365 * 2);
    assert_eq!(s.add_business_time(sat_noon, year), Some(sat_noon + year));
}

#[test]
fn daily_hours_across_dst() {
    let s = every_day(&["08:00-20:00"], rome());
    // Saturday 08:00 + 14h: 12h on Saturday, 2h on the (23-hour) Sunday → 10:00 local.
    let got = s.add_business_time(rome_at(2026, 3, 28, 8, 0), h(14)).unwrap();
    assert_eq!(got, rome_at(2026, 3, 29, 10, 0));
    assert_eq!(got, ts("2026-03-29T08:00:00Z"));
    // Intervals away from the transition keep their length on both days.
    for d in [date(2026, 3, 29), date(2026, 10, 25)] {
        let from = rome().to_timestamp(d.at(0, 0, 0, 0)).unwrap();
        let to = rome().to_timestamp(d.tomorrow().unwrap().at(0, 0, 0, 0)).unwrap();
        assert_eq!(s.business_time_between(from, to), h(12), "{d}");
    }
    let got = s.add_business_time(rome_at(2026, 10, 24, 19, 0), h(3)).unwrap();
    assert_eq!(got, rome_at(2026, 10, 25, 10, 0));
    assert_eq!(got, ts("2026-10-25T09:00:00Z"));
}

#[test]
fn intervals_spanning_the_transitions_have_their_real_length() {
    let s = every_day(&["00:00-06:00"], rome());
    let day = |y, m, d| {
        let day: Date = date(y, m, d);
        let midnight = |d: Date| rome().to_timestamp(d.at(0, 0, 0, 0)).unwrap();
        s.business_time_between(midnight(day), midnight(day.tomorrow().unwrap()))
    };
    assert_eq!(day(2026, 3, 28), h(6));
    assert_eq!(day(2026, 3, 29), h(5));
    assert_eq!(day(2026, 10, 25), h(7));
    assert_eq!(s.next_closing(rome_at(2026, 3, 29, 1, 0)), Some(ts("2026-03-29T04:00:00Z")));

    // Starting inside the gap: 02:30 is read as 03:30 CEST.
    let s = every_day(&["02:30-06:00"], rome());
    assert_eq!(s.next_opening(rome_at(2026, 3, 29, 0, 0)), Some(ts("2026-03-29T01:30:00Z")));
    // Collapsing inside the gap: 02:30–03:10 maps to 03:30–03:10, which is empty.
    let s = every_day(&["02:30-03:10"], rome());
    assert_eq!(s.next_opening(rome_at(2026, 3, 29, 0, 0)), Some(rome_at(2026, 3, 30, 2, 30)));
    // In the fold the first 02:30 starts the interval and it runs to 04:00 CET: 2h30.
    let s = every_day(&["02:30-04:00"], rome());
    let start = s.next_opening(rome_at(2026, 10, 25, 0, 0)).unwrap();
    assert_eq!(start, ts("2026-10-25T00:30:00Z"));
    assert_eq!(s.next_closing(start), Some(ts("2026-10-25T03:00:00Z")));
    assert!(s.is_open(ts("2026-10-25T01:45:00Z"))); // second 02:45
}

#[test]
fn adjacent_and_overlapping_intervals_merge_across_midnight() {
    let mut s = every_day(&["20:00-24:00", "00:00-02:00"], rome());
    s.weekly[0].push(iv("10:00-21:00"));
    s.weekly[0].push(iv("09:00-10:30"));
    // Monday 2026-03-09 09:00 to Tuesday 02:00 is one open stretch.
    let mon_9 = rome_at(2026, 3, 9, 9, 0);
    assert_eq!(s.next_closing(mon_9), Some(rome_at(2026, 3, 10, 2, 0)));
    assert_eq!(s.next_closing(rome_at(2026, 3, 10, 21, 0)), Some(rome_at(2026, 3, 11, 2, 0)));
}

#[test]
fn other_zones() {
    // New York moves on a different weekend than Rome (2026-03-08).
    let ny = TimeZone::get("America/New_York").unwrap();
    let s = every_day(&["00:00-24:00"], ny.clone());
    let mid = |d: Date| ny.to_timestamp(d.at(0, 0, 0, 0)).unwrap();
    assert_eq!(s.business_time_between(mid(date(2026, 3, 8)), mid(date(2026, 3, 9))), h(23));
    // Samoa skipped 30 December 2011 entirely.
    let apia = TimeZone::get("Pacific/Apia").unwrap();
    let s = every_day(&["09:00-17:00"], apia.clone());
    let from = apia.to_timestamp(date(2011, 12, 29).at(0, 0, 0, 0)).unwrap();
    let to = apia.to_timestamp(date(2012, 1, 1).at(0, 0, 0, 0)).unwrap();
    assert_eq!(s.business_time_between(from, to), h(16));
}

#[test]
fn extremes_do_not_panic() {
    let schedules = [
        default_schedule(),
        every_day(&["00:00-24:00"], rome()),
        every_day(&[], rome()),
        every_day(&["23:00-24:00"], TimeZone::fixed(jiff::tz::Offset::MAX)),
        every_day(&["00:00-01:00"], TimeZone::fixed(jiff::tz::Offset::MIN)),
    ];
    let instants =
        [Timestamp::MIN, Timestamp::MIN + h(1), Timestamp::MAX - h(1), Timestamp::MAX, Timestamp::UNIX_EPOCH];
    let amounts = [SignedDuration::MIN, SignedDuration::MAX, -h(1), h(1), h(24 * 365 * 2), SignedDuration::ZERO];
    for s in &schedules {
        for &t in &instants {
            let _ = s.is_open(t);
            let _ = s.next_opening(t);
            let _ = s.next_closing(t);
            for &a in &amounts {
                let _ = s.add_business_time(t, a);
            }
            // Counts cost time in proportion to their span, so only short ones at the edges.
            for u in [t, t.saturating_add(h(30)).unwrap(), t.saturating_sub(h(30)).unwrap()] {
                let _ = s.business_time_between(t, u);
            }
        }
        for d in [Date::MIN, Date::MAX] {
            let _ = s.closure_reason(d);
        }
    }
    let s = every_day(&["00:00-24:00"], rome());
    assert_eq!(s.add_business_time(Timestamp::MAX - h(1), h(2)), None);
    assert_eq!(s.add_business_time(Timestamp::MIN + h(1), -h(2)), None);
    assert_eq!(s.add_business_time(Timestamp::UNIX_EPOCH, SignedDuration::MAX), None);
    // A schedule that never opens gives up after the search horizon.
    let closed = every_day(&[], rome());
    assert_eq!(closed.next_opening(Timestamp::UNIX_EPOCH), None);
    assert_eq!(closed.add_business_time(Timestamp::UNIX_EPOCH, h(1)), None);
    assert_eq!(SEARCH_HORIZON_DAYS, 400);
}

// ---------------------------------------------------------------------------------------------
// Properties

const ZONES: &[&str] = &[
    "Europe/Rome",
    "America/New_York",
    "Australia/Lord_Howe", // 30-minute DST shift
    "America/Santiago",    // transitions at midnight
    "America/St_Johns",
    "Asia/Kolkata",
    "UTC",
];

/// Instants from 2000 to 2100, half of them in the weeks of Rome's DST changes.
fn instant() -> impl Strategy<Value = Timestamp> {
    let uniform = (946_684_800i64..4_102_444_800).prop_map(|s| Timestamp::from_second(s).unwrap());
    let near_dst = (2000i16..2100, prop::bool::ANY, 22i8..=31, 0i64..86_400, 0i32..1_000_000_000).prop_map(
        |(y, march, d, secs, nanos)| {
            let day = date(y, if march { 3 } else { 10 }, d);
            let base = rome().to_timestamp(day.at(0, 0, 0, 0)).unwrap();
            base + SignedDuration::new(secs, nanos)
        },
    );
    prop_oneof![uniform, near_dst]
}

/// 0–3 intervals per weekday on a quarter-hour grid (possibly overlapping or touching).
fn weekly() -> impl Strategy<Value = [Vec<Interval>; 7]> {
    let interval = (0u32..=96, 0u32..=96).prop_filter_map("empty", |(a, b)| {
        let (a, b) = (a.min(b), a.max(b));
        let at = |q: u32| time((q / 4) as i8, (q % 4 * 15) as i8, 0, 0);
        match (a, b) {
            (a, b) if a == b => None,
            (a, 96) => Some(Interval::until_midnight(at(a))),
            (a, b) => Interval::new(at(a), at(b)).ok(),
        }
    });
    prop::array::uniform7(prop::collection::vec(interval, 0..=3))
}

fn schedule() -> impl Strategy<Value = Calendar> {
    let random = (
        prop::sample::select(ZONES),
        weekly(),
        prop::bool::ANY,
        prop::collection::vec((2000i16..2100, 1i8..=12, 1i8..=28), 0..4),
    )
        .prop_map(|(zone, weekly, holidays, closed)| Calendar {
            time_zone: TimeZone::get(zone).unwrap(),
            weekly,
            holidays: if holidays { italian_national_holidays() } else { vec![] },
            closed_dates: closed.into_iter().map(|(y, m, d)| (date(y, m, d), "closed".to_string())).collect(),
        });
    prop_oneof![1 => Just(default_schedule()), 3 => random]
}

fn business_amount() -> impl Strategy<Value = SignedDuration> {
    (0i64..=100 * 3600).prop_map(SignedDuration::from_secs)
}

fn local(s: &Calendar, t: Timestamp) -> DateTime {
    s.time_zone.to_datetime(t)
}

const NS: SignedDuration = SignedDuration::from_nanos(1);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn next_opening_is_the_first_open_instant(s in schedule(), t in instant()) {
        match s.next_opening(t) {
            Some(o) => {
                prop_assert!(o >= t);
                prop_assert!(s.is_open(o));
                if s.is_open(t) {
                    prop_assert_eq!(o, t);
                } else {
                    prop_assert!(o > t);
                    prop_assert!(!s.is_open(o - NS));
                    prop_assert!(!s.is_open(t + o.duration_since(t) / 2));
                    prop_assert_eq!(s.business_time_between(t, o), SignedDuration::ZERO);
                }
            }
            None => prop_assert!(!s.is_open(t)),
        }
    }

    #[test]
    fn next_closing_ends_the_open_stretch(s in schedule(), t in instant()) {
        let c = s.next_closing(t);
        if !s.is_open(t) {
            prop_assert_eq!(c, None);
        } else if let Some(c) = c {
            prop_assert!(c > t);
            prop_assert!(!s.is_open(c));
            prop_assert!(s.is_open(c - NS));
            prop_assert!(s.is_open(t + c.duration_since(t) / 2));
            prop_assert_eq!(s.business_time_between(t, c), c.duration_since(t));
        }
    }

    #[test]
    fn adding_business_time_uses_exactly_that_much(
        s in schedule(), t in instant(), d in business_amount()
    ) {
        if let Some(r) = s.add_business_time(t, d) {
            prop_assert!(r >= t);
            prop_assert_eq!(s.business_time_between(t, r), d);
            if !d.is_zero() {
                prop_assert!(s.is_open(r - NS));
            }
        }
        if let Some(r) = s.add_business_time(t, -d) {
            prop_assert!(r <= t);
            prop_assert_eq!(s.business_time_between(r, t), d);
            prop_assert_eq!(s.business_time_between(t, r), -d);
            if !d.is_zero() {
                prop_assert!(s.is_open(r));
            }
        }
    }

    #[test]
    fn adding_business_time_is_monotone(
        s in schedule(), t in instant(), a in business_amount(), b in business_amount()
    ) {
        let (lo, hi) = (a.min(b), a.max(b));
        let (r_lo, r_hi) = (s.add_business_time(t, lo), s.add_business_time(t, hi));
        if let Some(r_hi) = r_hi {
            let r_lo = r_lo.expect("a smaller amount fits whenever a larger one does");
            prop_assert!(r_lo <= r_hi);
        }
        if let (Some(x), Some(y)) = (s.add_business_time(t, -lo), s.add_business_time(t, -hi)) {
            prop_assert!(y <= x);
        }
    }

    #[test]
    fn business_time_is_additive_and_bounded(
        s in schedule(), a in instant(), ab in -60i64..=60, bc in -60i64..=60, secs in 0i64..86_400
    ) {
        // Within a few months of each other: the cost of a count grows with its span.
        let b = a + h(ab * 24) + SignedDuration::from_secs(secs);
        let c = b + h(bc * 24);
        let ab = s.business_time_between(a, b);
        prop_assert_eq!(ab + s.business_time_between(b, c), s.business_time_between(a, c));
        prop_assert_eq!(s.business_time_between(b, a), -ab);
        prop_assert!(ab.abs() <= b.duration_since(a).abs());
    }

    #[test]
    fn closed_local_dates_are_never_open(s in schedule(), t in instant()) {
        let mut s = s;
        let day = local(&s, t).date();
        if s.closure_reason(day).is_none() {
            s.closed_dates.push((day, "test".into()));
        }
        prop_assert!(!s.is_open(t));
        prop_assert!(s.next_opening(t).is_none_or(|o| local(&s, o).date() != day));
    }

    #[test]
    fn holidays_are_closed_even_round_the_clock(
        year in 2000i16..2100, which in 0usize..12, secs in 0i64..86_400
    ) {
        let mut s = every_day(&["00:00-24:00"], rome());
        s.holidays = italian_national_holidays();
        let Some(day) = s.holidays[which].date_in(year) else {
            return Ok(()); // 4 October before 2026
        };
        let t = rome().to_timestamp(day.at(0, 0, 0, 0)).unwrap() + SignedDuration::from_secs(secs);
        if local(&s, t).date() == day {
            prop_assert!(!s.is_open(t));
            prop_assert!(s.closure_reason(day).is_some());
        }
    }

    /// The default schedule against a direct reading of the rule on the local clock (Rome's DST
    /// changes happen at night, when it is closed anyway).
    #[test]
    fn default_schedule_matches_the_plain_rule(t in instant()) {
        let s = default_schedule();
        let dt = local(&s, t);
        let open_hours = match dt.weekday() {
            Weekday::Sunday => None,
            Weekday::Saturday => Some((8, 14)),
            _ => Some((8, 20)),
        };
        let expected = s.closure_reason(dt.date()).is_none()
            && open_hours.is_some_and(|(from, to)| (from..to).contains(&dt.hour()));
        prop_assert_eq!(s.is_open(t), expected);
    }

    /// Without DST a random weekly schedule is exactly its intervals on the local clock.
    #[test]
    fn fixed_offset_schedules_match_their_intervals(
        weekly in weekly(), t in instant(), hours in -12i8..=14
    ) {
        let offset = jiff::tz::Offset::from_hours(hours).unwrap();
        let s = Calendar { weekly, ..Calendar::closed(TimeZone::fixed(offset)) };
        let dt = local(&s, t);
        let now = dt.time();
        let expected = s.weekly[dt.weekday().to_monday_zero_offset() as usize]
            .iter()
            .any(|iv| iv.start <= now && iv.end.is_none_or(|end| now < end));
        prop_assert_eq!(s.is_open(t), expected);
    }

    #[test]
    fn any_instant_and_amount_is_safe(
        secs in Timestamp::MIN.as_second()..=Timestamp::MAX.as_second(),
        amount in -1_000_000i64..=1_000_000,
        s in schedule(),
    ) {
        let t = Timestamp::from_second(secs).unwrap();
        let _ = s.is_open(t);
        let _ = s.next_closing(t);
        let _ = s.add_business_time(t, SignedDuration::from_secs(amount));
        let _ = s.closure_reason(local(&s, t).date());
    }
}

#[test]
fn time_of_day_helpers_used_above_are_sane() {
    // Guards the test helpers themselves: rome_at uses compatible disambiguation.
    assert_eq!(rome_at(2026, 3, 29, 2, 30), ts("2026-03-29T01:30:00Z"));
    assert_eq!(rome_at(2026, 10, 25, 2, 30), ts("2026-10-25T00:30:00Z"));
    let _ = Time::MIN;
}
