//! A calendar's open hours, one local day at a time, remembered.
//!
//! Every ticket the fold projects asks its calendars the same few questions about the same few
//! days: was the contact in the channel's hours, how much business time lies between opening and
//! first response, resolution, notice. The calendar answers each from scratch (the year's
//! holidays, Easter included, and the weekly hours of the days around), which was most of a
//! projection's cost. Here each local day's open stretches are worked out once, from the
//! calendar's own `next_opening`/`next_closing`, and the answers read from them.

use crate::rules::calendar::Calendar;
use jiff::Timestamp;
use jiff::civil::Date;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Days remembered before the memory starts again (a few years of one calendar).
const REMEMBERED_DAYS: usize = 2048;
/// Longer spans of business time are asked of the calendar directly.
const LONGEST_SUMMED: jiff::SignedDuration = jiff::SignedDuration::from_hours(24 * 62);

/// The open stretches `[start, end)` within one local day, in order.
type OpenStretches = Arc<[(Timestamp, Timestamp)]>;

/// One calendar, with the open stretches of the local days asked so far.
#[derive(Debug)]
pub struct RememberedHours {
    calendar: Calendar,
    days: Mutex<HashMap<Date, OpenStretches>>,
}

impl Clone for RememberedHours {
    fn clone(&self) -> Self {
        Self::new(self.calendar.clone())
    }
}

impl RememberedHours {
    pub fn new(calendar: Calendar) -> Self {
        Self { calendar, days: Mutex::default() }
    }

    /// Whether the calendar is open at `at` (as [`Calendar::is_open`]).
    pub fn is_open(&self, at: Timestamp) -> bool {
        let date = self.calendar.time_zone.to_datetime(at).date();
        self.open_on(date).iter().any(|(start, end)| *start <= at && at < *end)
    }

    /// The open time between two instants (as [`Calendar::business_time_between`]).
    pub fn business_time_between(&self, from: Timestamp, to: Timestamp) -> jiff::SignedDuration {
        if to < from {
            return -self.business_time_between(to, from);
        }
        if to.duration_since(from) > LONGEST_SUMMED {
            return self.calendar.business_time_between(from, to);
        }
        let tz = &self.calendar.time_zone;
        let (mut date, last) = (tz.to_datetime(from).date(), tz.to_datetime(to).date());
        let mut total = jiff::SignedDuration::ZERO;
        loop {
            for (start, end) in self.open_on(date).iter() {
                let (start, end) = ((*start).max(from), (*end).min(to));
                if start < end {
                    total += end.duration_since(start);
                }
            }
            match date.tomorrow() {
                Ok(next) if date < last => date = next,
                _ => return total,
            }
        }
    }

    /// The open stretches within local day `date`, in order.
    fn open_on(&self, date: Date) -> OpenStretches {
        let mut days = self.days.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(spans) = days.get(&date) {
            return Arc::clone(spans);
        }
        if days.len() >= REMEMBERED_DAYS {
            days.clear();
        }
        let spans: OpenStretches = self.work_out(date).into();
        days.insert(date, Arc::clone(&spans));
        spans
    }

    fn work_out(&self, date: Date) -> Vec<(Timestamp, Timestamp)> {
        let tz = &self.calendar.time_zone;
        // A midnight inside a daylight-saving gap maps to the gap's end: the day's first instant.
        let start_of = |d: Date| tz.to_timestamp(d.to_datetime(jiff::civil::Time::midnight()));
        let (Ok(first), Ok(end)) = (start_of(date), date.tomorrow().and_then(start_of)) else {
            return Vec::new();
        };
        let mut spans = Vec::new();
        let mut from = first;
        while from < end {
            let Some(open) = self.calendar.next_opening(from).filter(|o| *o < end) else {
                break;
            };
            // No closing within the search horizon: open for the rest of the day.
            let close = self.calendar.next_closing(open).map_or(end, |c| c.min(end));
            if close <= open {
                break;
            }
            spans.push((open, close));
            from = close;
        }
        spans
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Rules;

    fn rules() -> Rules {
        Rules::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))).unwrap()
    }

    /// Every calendar of the default rulebook, over two months that hold a daylight-saving change,
    /// holidays and weekends: the remembered answers are the calendar's own.
    #[test]
    fn answers_as_the_calendar_does() {
        let rules = rules();
        let mut calendars: Vec<Calendar> =
            rules.channels.values().map(|ch| rules.calendar(ch.schedule).clone()).collect();
        calendars.push(rules.sla_calendar().clone());
        let start: Timestamp = "2026-10-01T00:00:00Z".parse().unwrap();
        for calendar in calendars {
            let hours = RememberedHours::new(calendar.clone());
            // Every 7 minutes and 13 seconds for 62 days: both sides of each opening and closing.
            let step = jiff::SignedDuration::from_secs(7 * 60 + 13);
            let mut at = start;
            let mut previous = start;
            let mut n = 0;
            while at < start + jiff::SignedDuration::from_hours(24 * 62) {
                assert_eq!(hours.is_open(at), calendar.is_open(at), "open at {at}");
                if n % 37 == 0 {
                    assert_eq!(
                        hours.business_time_between(previous, at),
                        calendar.business_time_between(previous, at),
                        "business time {previous} to {at}"
                    );
                    assert_eq!(hours.business_time_between(at, previous), calendar.business_time_between(at, previous));
                    previous = at - jiff::SignedDuration::from_secs(n * 97 % 20_000);
                }
                at += step;
                n += 1;
            }
            let (a, b) = (start, start + jiff::SignedDuration::from_hours(24 * 100));
            assert_eq!(hours.business_time_between(a, b), calendar.business_time_between(a, b), "a long span");
        }
    }
}
