//! What `rules check` reports of a rulebook that passed: its counts, languages and roles, taken
//! from its model once and kept in `rules check`'s cache with the rulebook's own checks.

use super::resolved::Model;
use serde::{Deserialize, Serialize};

/// What the report lists of a rulebook's model (kept in the cache with its own checks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Categories, channels, teams, schedules, flows, escalation targets, SLA targets, messages.
    pub counts: [usize; 8],
    pub languages: Vec<String>,
    /// The "Roles:" lines.
    pub roles: String,
}

impl Summary {
    pub fn of(m: &Model) -> Summary {
        let counts = [
            m.categories.len(),
            m.channels.len(),
            m.teams.len(),
            m.schedules.len(),
            m.flows.len(),
            m.targets.len(),
            m.sla.targets.len(),
            m.messages.len(),
        ];
        Summary { counts, languages: m.languages.clone(), roles: roles(m) }
    }
}

fn roles(m: &Model) -> String {
    let mut out = String::from("Roles:\n");
    out.push_str(&format!(" - default team: {}\n", m.default_team()));
    out.push_str(&format!(" - privacy team: {}\n", m.privacy_team().map_or("none", |t| t.as_str())));
    out.push_str(&format!(" - default category: {}\n", m.default_category()));
    out.push_str(&format!(" - reminder category: {}\n", m.reminder_category().map_or("none", |c| c.as_str())));
    for (id, ch) in m.channels.iter() {
        if let Some(bot) = ch.bot {
            let (team, category) = (m.teams.key(bot.team), m.categories.key(bot.category));
            out.push_str(&format!(" - bot of channel `{id}`: team {team}, category {category}\n"));
        }
        if !ch.menu.is_empty() {
            let keys: Vec<String> = ch.menu.iter().map(|(k, c)| format!("{k} {}", m.categories.key(*c))).collect();
            out.push_str(&format!(" - IVR menu of channel `{id}`: {}\n", keys.join(", ")));
        }
    }
    out
}
