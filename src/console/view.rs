//! What every page shows around its content, and how values read: times in the rulebook's time
//! zone, durations, states, types and the rulebook's names in the reader's language.

use super::i18n::{Lang, Tr, fill, lookup};
use crate::domain::{TicketState, TicketType};
use crate::engine::{Engine, SlaState};
use crate::http::operator_auth::{OperatorIdentity, Role};
use jiff::{SignedDuration, Timestamp, tz::TimeZone};

/// The page frame: header, navigation, the signed-in operator, language and CSRF token.
#[derive(Debug, Clone)]
pub struct Frame {
    pub t: Tr,
    pub title: String,
    /// `queue`, `search`, `incidents` or empty: which navigation link is the current page.
    pub nav: &'static str,
    pub csrf: String,
    pub operator: Option<String>,
    pub roles: String,
    /// Where the language switch goes (this page, in the other language).
    pub lang_href: String,
    pub asset_css: &'static str,
    pub asset_js: &'static str,
    /// The signed-in operator is on the privacy team (the erasure door is theirs).
    pub privacy: bool,
    /// The signed-in operator may see reports (supervisors, admins, the privacy team).
    pub reports: bool,
}

impl Frame {
    pub fn lang(&self) -> &'static str {
        self.t.lang.code()
    }

    pub fn other_lang(&self) -> &'static str {
        self.t.lang.other().code()
    }

    pub fn signed_in_as(&self) -> String {
        fill(self.t.signed_in_as(), &[("id", self.operator.as_deref().unwrap_or_default())])
    }

    pub fn is(&self, nav: &str) -> bool {
        self.nav == nav
    }
}

pub fn frame(
    t: Tr,
    title: String,
    nav: &'static str,
    csrf: String,
    who: Option<&OperatorIdentity>,
    path: &str,
) -> Frame {
    let roles =
        who.map(|w| w.roles.iter().map(|r| role_label(t, *r)).collect::<Vec<_>>().join(", ")).unwrap_or_default();
    Frame {
        t,
        title,
        nav,
        csrf,
        operator: who.map(|w| w.id.clone()),
        roles,
        lang_href: format!("/lang/{}?next={}", t.lang.other().code(), super::oidc::urlencode(path)),
        privacy: who.is_some_and(|w| w.has(crate::http::operator_auth::PRIVACY_ROLE)),
        reports: who.is_some_and(|w| w.require(crate::http::operator_auth::Endpoint::Reports).is_ok()),
        asset_css: super::assets::CSS_URL,
        asset_js: super::assets::JS_URL,
    }
}

pub fn role_label(t: Tr, r: Role) -> &'static str {
    match r {
        Role::Operator => t.role_operator(),
        Role::PrivacyOperator => t.role_privacy_operator(),
        Role::Supervisor => t.role_supervisor(),
        Role::Admin => t.role_admin(),
    }
}

pub fn state_label(t: Tr, s: TicketState) -> &'static str {
    lookup(t, &format!("state_{}", s.as_str())).unwrap_or("?")
}

pub fn type_label(t: Tr, ty: Option<TicketType>) -> &'static str {
    match ty {
        None => t.no_type(),
        Some(ty) => lookup(t, &format!("type_{}", ty.code().to_ascii_lowercase())).unwrap_or("?"),
    }
}

pub fn sla_label(t: Tr, s: Option<SlaState>) -> &'static str {
    match s {
        None => t.sla_none(),
        Some(SlaState::Met) => t.sla_met(),
        Some(SlaState::OnTime) => t.sla_on_time(),
        Some(SlaState::Warning) => t.sla_warning(),
        Some(SlaState::Breached) => t.sla_breached(),
    }
}

/// A rulebook text (`{it: …, en: …}`) in the reader's language, or the id.
pub fn rulebook_text<'a>(
    text: Option<&'a std::collections::BTreeMap<String, String>>,
    lang: Lang,
    id: &'a str,
) -> &'a str {
    text.and_then(|t| t.get(lang.code()).or_else(|| t.values().next())).map_or(id, String::as_str)
}

pub fn category_name<'a>(engine: &'a Engine, lang: Lang, id: Option<&'a str>) -> &'a str {
    match id {
        None => "—",
        Some(id) => rulebook_text(engine.rules.categories.get(id).map(|c| &c.name), lang, id),
    }
}

pub fn channel_name<'a>(engine: &'a Engine, lang: Lang, id: &'a str) -> &'a str {
    rulebook_text(engine.rules.channels.get(id).map(|c| &c.name), lang, id)
}

pub fn team_name<'a>(engine: &'a Engine, lang: Lang, id: &'a str) -> &'a str {
    if id == crate::engine::TRIAGE_TEAM {
        // Where a ticket waits, for a moment, for triage to give it its team.
        return Tr { lang }.team_awaiting_triage();
    }
    rulebook_text(engine.rules.teams.get(id).map(|c| &c.name), lang, id)
}

pub fn target_name<'a>(engine: &'a Engine, lang: Lang, id: &'a str) -> &'a str {
    rulebook_text(engine.rules.targets.get(id).map(|c| &c.name), lang, id)
}

/// The time zone people read times in: the SLA calendar's.
pub fn zone(engine: &Engine) -> TimeZone {
    engine.rules.sla_calendar().time_zone.clone()
}

/// `07/12/2026 10:32` in the rulebook's time zone.
pub fn when(engine: &Engine, at: Timestamp) -> String {
    at.to_zoned_datetime(zone(engine)).strftime("%d/%m/%Y %H:%M").to_string()
}

/// `14:00` on the day of `now`, else `09/12 14:00`.
pub fn short_when(engine: &Engine, at: Timestamp, now: Timestamp) -> String {
    let (a, n) = (at.to_zoned_datetime(zone(engine)), now.to_zoned_datetime(zone(engine)));
    if a.date() == n.date() { a.strftime("%H:%M").to_string() } else { a.strftime("%d/%m %H:%M").to_string() }
}

/// `10:32`.
pub fn clock(engine: &Engine, at: Timestamp) -> String {
    at.to_zoned_datetime(zone(engine)).strftime("%H:%M").to_string()
}

/// A duration for a person: `3 h 20 min`, `2 g 4 h`, `12 min`.
pub fn span(t: Tr, d: SignedDuration) -> String {
    let minutes = d.as_secs().unsigned_abs() / 60;
    let (days, hours, mins) = (minutes / 1440, (minutes % 1440) / 60, minutes % 60);
    let part = |text: &str, n: u64| fill(text, &[("n", &n.to_string())]);
    if days > 0 {
        if hours > 0 {
            format!("{} {}", part(t.days_short(), days), part(t.hours_short(), hours))
        } else {
            part(t.days_short(), days)
        }
    } else if hours > 0 {
        if mins > 0 {
            format!("{} {}", part(t.hours_short(), hours), part(t.minutes_short(), mins))
        } else {
            part(t.hours_short(), hours)
        }
    } else if mins > 0 {
        part(t.minutes_short(), mins)
    } else {
        t.just_now().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_like_a_person_writes_them() {
        let it = Tr { lang: Lang::It };
        assert_eq!(span(it, SignedDuration::from_mins(200)), "3 h 20 min");
        assert_eq!(span(it, SignedDuration::from_hours(52)), "2 g 4 h");
        assert_eq!(span(it, SignedDuration::from_mins(-12)), "12 min");
        assert_eq!(span(Tr { lang: Lang::En }, SignedDuration::from_secs(20)), "just now");
    }
}
