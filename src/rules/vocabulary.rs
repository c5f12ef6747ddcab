//! The built-in step vocabulary: what each step means, who performs it and where it is allowed.

use crate::domain::{ChannelKind, Outcome, Party};

/// Where a step may appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed<'a> {
    Everywhere,
    Only(&'a [ChannelKind]),
    /// Only on synchronous channels (a call or a chat that can be "closed").
    Synchronous,
    /// Only on channels with a chatbot.
    WithBot,
}

#[derive(Debug, Clone, Copy)]
pub struct StepInfo {
    pub name: &'static str,
    pub meaning: &'static str,
    /// Section of the source document.
    pub section: &'static str,
    pub actor: Party,
    pub allowed: Allowed<'static>,
    /// The contact ends with this outcome once the step is done.
    pub outcome: Option<Outcome>,
    /// Message shown or spoken to the user by this step.
    pub message: Option<&'static str>,
}

/// Continue with the flow the channel maps the contact's category to.
pub const CATEGORY_FLOW: &str = "category_flow";

const fn step(
    name: &'static str,
    meaning: &'static str,
    section: &'static str,
    actor: Party,
    allowed: Allowed<'static>,
) -> StepInfo {
    StepInfo { name, meaning, section, actor, allowed, outcome: None, message: None }
}

const fn says(mut s: StepInfo, message: &'static str) -> StepInfo {
    s.message = Some(message);
    s
}

const fn ends(mut s: StepInfo, outcome: Outcome) -> StepInfo {
    s.outcome = Some(outcome);
    s
}

use Allowed::*;
use Party::*;

pub const STEPS: &[StepInfo] = &[
    says(
        step(
            "ivr_welcome",
            "IVR greets the caller and routes to an operator",
            "3.1",
            System,
            Only(&[ChannelKind::Voice]),
        ),
        "ivr_welcome",
    ),
    says(
        step(
            "ivr_out_of_hours_message",
            "IVR says the operator service is closed",
            "3.1",
            System,
            Only(&[ChannelKind::Voice]),
        ),
        "ivr_out_of_hours",
    ),
    says(step("chat_welcome", "chat welcome message", "3.2", Bot, Only(&[ChannelKind::Chat])), "chat_welcome"),
    step("bot_conversation", "the chatbot tries to solve the request", "3.2", Bot, WithBot),
    says(
        ends(
            step(
                "auto_resolve",
                "the bot solved it: type B, resolved and closed automatically",
                "3.2",
                System,
                WithBot,
            ),
            Outcome::AutoResolved,
        ),
        "chat_auto_resolved",
    ),
    says(
        step(
            "handoff_to_operator",
            "the chat goes to the operator service: the user asks in service hours, or a privacy request at any hour",
            "3.2, 3.5",
            Bot,
            WithBot,
        ),
        "chat_handoff",
    ),
    says(
        ends(
            step(
                "auto_close",
                "closed automatically: out of hours and not solved by the bot",
                "3.2",
                System,
                Only(&[ChannelKind::Chat]),
            ),
            Outcome::AutoClosed,
        ),
        "chat_out_of_hours",
    ),
    says(
        step(
            "suggest_alternative_channels",
            "tell the user the other contact channels",
            "3.1, 3.2",
            System,
            Synchronous,
        ),
        "alternative_channels",
    ),
    step("take_in_charge", "the operator takes the ticket in charge (C)", "2", OperatorService, Everywhere),
    step("classify", "the operator sets the ticket type", "2", OperatorService, Everywhere),
    step(
        "route_to_privacy_team",
        "privacy tickets go to the privacy referent's team",
        "3, 3.5",
        OperatorService,
        Everywhere,
    ),
    step("answer_from_knowledge_base", "standard answer from the knowledge base", "3.1", OperatorService, Everywhere),
    step(
        "give_self_service_directions",
        "PQ: point the citizen to the self-service function",
        "3.5",
        OperatorService,
        Everywhere,
    ),
    step(
        "check_referenced_ticket_status",
        "reminder: look up the ticket the reminder is about",
        "3.1",
        OperatorService,
        Everywhere,
    ),
    step(
        "check_active_incidents",
        "malfunction: is an outage in progress on PagoPA services?",
        "3.1",
        OperatorService,
        Everywhere,
    ),
    step(
        "provide_restoration_info",
        "malfunction with an active incident: give restoration information",
        "3.1",
        OperatorService,
        Everywhere,
    ),
    step(
        "close_contact",
        "end the call or chat; the contact continues asynchronously",
        "3.1, 3.2",
        OperatorService,
        Synchronous,
    ),
    step("escalate", "send to PagoPA and/or third parties", "3.1", OperatorService, Everywhere),
    step(
        "await_resolution_notice",
        "PagoPA or the third party works it (L) and sends a resolution notice",
        "3.1",
        PagopaOrThirdParty,
        Everywhere,
    ),
    step("compose_answer", "the operator fills in the answer", "3.1", OperatorService, Everywhere),
    ends(step("resolve", "the operator resolves the ticket (R)", "2", OperatorService, Everywhere), Outcome::Resolved),
];

pub fn builtin(name: &str) -> Option<&'static StepInfo> {
    STEPS.iter().find(|s| s.name == name)
}

/// Facts a flow can branch on.
pub const FACTS: &[(&str, &str)] = &[
    ("in_service_hours", "computed from the contact's time and the channel's schedule"),
    ("bot_resolved", "the chatbot solved the request"),
    ("operator_can_solve", "the operator can solve an advanced request without escalating"),
    ("incident_active", "an incident is declared on the PagoPA service concerned"),
    ("privacy_request", "computed from the category: a privacy request (PQ, PA, PI)"),
];

/// Facts Sportello computes itself; a contact cannot set them.
pub const COMPUTED_FACTS: &[&str] = &["in_service_hours", "privacy_request"];

pub fn is_fact(name: &str) -> bool {
    FACTS.iter().any(|(f, _)| *f == name)
}

impl Allowed<'_> {
    pub fn permits(self, kind: ChannelKind, has_bot: bool) -> bool {
        match self {
            Everywhere => true,
            Only(kinds) => kinds.contains(&kind),
            Synchronous => kind.is_synchronous(),
            WithBot => has_bot,
        }
    }

    pub fn describe(self) -> String {
        match self {
            Everywhere => "every channel".into(),
            Only(kinds) => kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ") + " channels",
            Synchronous => "synchronous channels (voice, chat)".into(),
            WithBot => "channels with a chatbot".into(),
        }
    }
}
