//! From the YAML schedules to the calendar engine, and the duration syntaxes of the rulebook.

use super::calendar::{self, HolidayRule, Interval};
use super::model;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span};

/// A finding inside one schedule; `pointer` is relative to the schedule.
pub struct ScheduleFinding {
    pub pointer: String,
    pub message: String,
}

fn parse_month_day(text: &str) -> Option<(i8, i8)> {
    let (m, d) = text.split_once('-')?;
    if m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (month, day) = (m.parse().ok()?, d.parse().ok()?);
    // 2024 is a leap year, so 02-29 is accepted and applies in leap years only.
    Date::new(2024, month, day).ok().map(|_| (month, day))
}

pub fn holiday_rule(h: &model::Holiday) -> Result<HolidayRule, (&'static str, String)> {
    let rule = match (&h.date, h.easter) {
        (Some(date), None) => {
            let (month, day) = parse_month_day(date)
                .ok_or(("date", format!("`{date}` is not a day of the year; write `MM-DD`, e.g. `04-25`")))?;
            HolidayRule::Fixed { month, day, name: h.name.clone(), from_year: h.from, until_year: h.until }
        }
        (None, Some(offset)) => {
            HolidayRule::Easter { offset_days: offset, name: h.name.clone(), from_year: h.from, until_year: h.until }
        }
        (Some(_), Some(_)) => {
            return Err(("easter", format!("holiday `{}` has both `date` and `easter`; give one", h.name)));
        }
        (None, None) => {
            return Err((
                "name",
                format!("holiday `{}` needs `date: MM-DD` or `easter: <days after Easter Sunday>`", h.name),
            ));
        }
    };
    rule.validate().map_err(|e| ("name", e.to_string()))?;
    Ok(rule)
}

pub fn problems(s: &model::Schedule) -> Vec<ScheduleFinding> {
    let mut out = Vec::new();
    let mut push = |pointer: String, message: String| out.push(ScheduleFinding { pointer, message });
    if let Err(e) = TimeZone::get(&s.time_zone) {
        push(
            "/time_zone".into(),
            format!("`{}` is not a known time zone ({e}); use an IANA name such as `Europe/Rome`", s.time_zone),
        );
    }
    let mut open_at_all = false;
    for (day, intervals) in s.weekly.days() {
        let mut parsed: Vec<(usize, Interval)> = Vec::new();
        for (i, text) in intervals.iter().enumerate() {
            match text.parse::<Interval>() {
                Ok(iv) => parsed.push((i, iv)),
                Err(e) => push(format!("/weekly/{day}/{i}"), e.to_string()),
            }
        }
        open_at_all |= !parsed.is_empty();
        parsed.sort_by_key(|(_, iv)| iv.start);
        for pair in parsed.windows(2) {
            let ((_, a), (j, b)) = (pair[0], pair[1]);
            if a.end.is_none_or(|end| end > b.start) {
                push(format!("/weekly/{day}/{j}"), format!("{b} overlaps {a} on {day}"));
            }
        }
    }
    if !open_at_all {
        push("/weekly".into(), "the schedule is never open".into());
    }
    for (i, h) in s.holidays.iter().enumerate() {
        if let Err((key, message)) = holiday_rule(h) {
            push(format!("/holidays/{i}/{key}"), message);
        }
    }
    for (i, c) in s.closed_dates.iter().enumerate() {
        if c.date.parse::<Date>().is_err() || c.date.len() != 10 {
            push(format!("/closed_dates/{i}/date"), format!("`{}` is not a date; write `YYYY-MM-DD`", c.date));
        }
    }
    out
}

/// Builds the calendar of a schedule that passed `problems`.
pub fn compile(s: &model::Schedule) -> Result<calendar::Calendar, String> {
    let time_zone = TimeZone::get(&s.time_zone).map_err(|e| e.to_string())?;
    let mut weekly: [Vec<Interval>; 7] = Default::default();
    for (slot, (_, intervals)) in weekly.iter_mut().zip(s.weekly.days()) {
        *slot = intervals.iter().map(|t| t.parse::<Interval>().map_err(|e| e.to_string())).collect::<Result<_, _>>()?;
    }
    let holidays = s.holidays.iter().map(|h| holiday_rule(h).map_err(|(_, m)| m)).collect::<Result<_, _>>()?;
    let closed_dates = s
        .closed_dates
        .iter()
        .map(|c| c.date.parse::<Date>().map(|d| (d, c.reason.clone())).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    Ok(calendar::Calendar { time_zone, weekly, holidays, closed_dates })
}

/// Business time such as `4h` or `1h 30m` (or ISO 8601 `PT4H`): counted only while open, so
/// days and months are refused as ambiguous.
pub fn business_duration(text: &str) -> Result<SignedDuration, String> {
    let d: SignedDuration = text.parse().map_err(|_| {
        format!("`{text}` is not a business-time duration; write hours and minutes, e.g. `4h` or `1h 30m`")
    })?;
    if d.is_zero() || d.is_negative() {
        return Err(format!("`{text}` must be a positive duration"));
    }
    Ok(d)
}

/// Calendar time such as `1 month` or `72h` (or ISO 8601 `P1M`), running day and night.
pub fn calendar_span(text: &str) -> Result<Span, String> {
    let span: Span =
        text.parse().map_err(|_| format!("`{text}` is not a duration; write e.g. `1 month`, `30 days` or `72h`"))?;
    if span.is_zero() || span.is_negative() {
        return Err(format!("`{text}` must be a positive duration"));
    }
    Ok(span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(business_duration("4h").unwrap(), SignedDuration::from_hours(4));
        assert_eq!(business_duration("1h 30m").unwrap(), SignedDuration::from_mins(90));
        assert!(business_duration("2 days").is_err());
        assert!(business_duration("0h").is_err());
        assert!(business_duration("soon").unwrap_err().contains("`soon`"));
        assert_eq!(calendar_span("1 month").unwrap().get_months(), 1);
        assert_eq!(calendar_span("72h").unwrap().get_hours(), 72);
        assert!(calendar_span("-1 month").is_err());
    }

    #[test]
    fn month_days() {
        assert_eq!(parse_month_day("02-29"), Some((2, 29)));
        assert_eq!(parse_month_day("02-30"), None);
        assert_eq!(parse_month_day("4-25"), None);
        assert_eq!(parse_month_day("13-01"), None);
    }
}
