//! What every page shows around its content, and how values read: times in the rulebook's time
//! zone, durations, states, types and the rulebook's names in the reader's language.

use crate::i18n::{Tr, fill};
// Values in words, shared with the reports dashboard: the console names them from here.
use crate::engine::Engine;
use crate::http::operator_auth::{OperatorIdentity, Role};
pub use crate::i18n::{
    category_name, channel_name, rulebook_text, sla_label, span, state_label, target_name, team_name, type_label,
};
use jiff::{Timestamp, tz::TimeZone};

/// An option of a select list: its value, its label, and whether it is the current one.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

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
