//! What the scenes use, found in the rulebook they run against by what it does there rather than
//! by name: the voice channel and the menu keys that reach a category, the API client and the
//! entry of its category tree that lands on a category, the targets a flow escalates to. A
//! rulebook whose ids are in another language plays the same scenes.

use crate::domain::{ChannelKind, TicketType};
use crate::rules::Rules;
use crate::rules::ids::{CategoryIx, ChannelIx};
use crate::rules::resolved::{FieldFormat, Model, Path, TargetDelivery, TargetParty};

/// The voice channel's id.
pub fn voice_channel(rules: &Model) -> Result<&str, String> {
    rules
        .channel_of_kind(ChannelKind::Voice)
        .map(|(_, id, _)| id.as_str())
        .ok_or_else(|| "the rulebook has no channel of kind `voice`".to_string())
}

/// The IVR menu key that leads to a category `wanted` accepts, lowest key first.
pub fn menu_key(rules: &Model, wanted: impl Fn(CategoryIx) -> bool) -> Option<String> {
    let (_, _, voice) = rules.channel_of_kind(ChannelKind::Voice)?;
    voice.menu.iter().find(|(_, c)| wanted(**c)).map(|(key, _)| key.clone())
}

/// The operator paths of `category` on `channel` (those that take the ticket in charge).
fn operator_paths(rules: &Model, channel: ChannelIx, category: CategoryIx) -> Vec<&Path> {
    rules
        .route(channel, category)
        .map(|r| r.paths.iter().filter(|p| p.has_step("take_in_charge")).collect())
        .unwrap_or_default()
}

/// A malfunction report: its voice flow checks for active incidents.
pub fn is_malfunction(rules: &Model, category: CategoryIx) -> bool {
    let Some((voice, _, _)) = rules.channel_of_kind(ChannelKind::Voice) else {
        return false;
    };
    operator_paths(rules, voice, category).iter().any(|p| p.has_step("check_active_incidents"))
}

/// The client app the demo acts as: the one whose tree reaches the most of our categories.
pub fn api_client(rules: &Model) -> Option<&str> {
    rules
        .clients
        .iter()
        .max_by_key(|(id, c)| {
            let mut reached: Vec<CategoryIx> = c.categories.values().copied().collect();
            reached.sort();
            reached.dedup();
            // Ties go to the first client in id order.
            (reached.len(), std::cmp::Reverse(id.as_str()))
        })
        .map(|(id, _)| id.as_str())
}

/// A request the client app sends: its category and subcategory.
pub struct ClientRequest {
    pub category: String,
    pub subcategory: Option<String>,
    /// Ours, as the rulebook maps it.
    pub ours: CategoryIx,
}

/// The entry of the demo client's tree that lands on a category `wanted` accepts: the first of
/// `preferred` that does, else the first `category/subcategory` entry, else any entry.
pub fn client_request(
    rules: &Model,
    preferred: &[&str],
    wanted: impl Fn(CategoryIx) -> bool,
) -> Result<ClientRequest, String> {
    let client_id = api_client(rules).ok_or("the rulebook has no API client")?;
    let client = &rules.clients[client_id];
    let fits = |key: &&String| client.categories.get(*key).is_some_and(|c| wanted(*c));
    let key = preferred
        .iter()
        .find_map(|p| client.categories.get_key_value(*p).map(|(k, _)| k).filter(fits))
        .or_else(|| client.categories.keys().filter(fits).find(|k| k.contains('/')))
        .or_else(|| client.categories.keys().find(fits))
        .ok_or_else(|| format!("client `{client_id}` maps nothing onto the category this scene needs"))?;
    let (category, subcategory) = match key.split_once('/') {
        Some((c, s)) => (c.to_string(), Some(s.to_string())),
        None => (key.clone(), None),
    };
    Ok(ClientRequest { category, subcategory, ours: client.categories[key] })
}

/// The API channel.
fn api_channel(rules: &Model) -> Option<ChannelIx> {
    rules.channel_of_kind(ChannelKind::Api).map(|(ix, _, _)| ix)
}

/// A specialist request on the API: every operator path awaits a notice, and the flow offers a
/// target on a queue and one by e-mail (PagoPA and a third party).
pub fn is_specialist_request(rules: &Model, category: CategoryIx) -> bool {
    let Some(api) = api_channel(rules) else {
        return false;
    };
    let paths = operator_paths(rules, api, category);
    let queue =
        |p: &Path| p.escalate_to.iter().any(|t| matches!(rules.targets[*t].delivery, TargetDelivery::Queue { .. }));
    let mail =
        |p: &Path| p.escalate_to.iter().any(|t| matches!(rules.targets[*t].delivery, TargetDelivery::Email { .. }));
    !paths.is_empty() && paths.iter().all(|p| p.has_step("await_resolution_notice") && queue(p) && mail(p))
}

/// A personal-data breach report (type PI).
pub fn is_breach(rules: &Model, category: CategoryIx) -> bool {
    rules.categories[category].types == [TicketType::PI]
}

/// The targets the API flow of `category` escalates to, PagoPA's first.
pub fn targets_of(rules: &Model, category: CategoryIx) -> Vec<String> {
    let Some(api) = api_channel(rules) else {
        return Vec::new();
    };
    let mut out: Vec<(bool, String)> = Vec::new();
    for p in operator_paths(rules, api, category) {
        for t in &p.escalate_to {
            let id = rules.targets.key(*t).to_string();
            if !out.iter().any(|(_, o)| *o == id) {
                out.push((rules.targets[*t].party != TargetParty::Pagopa, id));
            }
        }
    }
    out.sort_by_key(|(third_party, _)| *third_party);
    out.into_iter().map(|(_, id)| id).collect()
}

/// The contact points of the voice channel's alternatives, in the rulebook's first language.
pub fn voice_alternatives(rules: &Rules) -> Vec<String> {
    let Some((_, _, voice)) = rules.channel_of_kind(ChannelKind::Voice) else {
        return Vec::new();
    };
    let lang = rules.default_language();
    voice.alternative_channels.iter().map(|c| rules.text(&rules.channels[*c].contact_point, lang).to_string()).collect()
}

/// The payment the scenes' app requests are about, in the rulebook's custom fields of each
/// format (a notice code, its creditor, the RptId joining them).
pub fn payment_fields(rules: &Model) -> serde_json::Map<String, serde_json::Value> {
    let value = |format: FieldFormat| match format {
        FieldFormat::NoticeCode => Some("302001234567890123"),
        FieldFormat::EntityFiscalCode => Some("15376371009"),
        FieldFormat::RptId => Some("15376371009302001234567890123"),
        FieldFormat::FiscalCode | FieldFormat::Text => None,
    };
    rules.custom_fields.iter().filter_map(|(id, f)| Some((id.to_string(), value(f.format)?.into()))).collect()
}
