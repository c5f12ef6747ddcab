//! AWS API calls per ticket life and the cost per 10,000 tickets, on moto (needs the `.venv` of
//! `scripts/test-env.sh`). Prints the markdown of `docs/benchmarks/aws-calls.md`:
//!
//! ```sh
//! cargo bench --features aws --bench aws_calls
//! ```

// The flows and their counts come from the integration tests' support, which also holds them to
// upper bounds (`tests/it/aws_calls.rs`).
#[path = "../tests/it/support/aws_calls.rs"]
mod aws_calls;
#[path = "../tests/it/support/moto.rs"]
mod moto;
#[path = "../tests/it/support/sqs.rs"]
mod sqs;

/// The repository's root, where moto's `.venv` is.
fn root() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
}

use aws_calls::{Cost, FlowCalls, Lab, breakdown, markdown};
use std::fmt::Write;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; a filter argument is accepted and ignored.
    let mut lab = Lab::new().await;
    let flows = lab.all_flows().await;
    println!("## AWS API calls per ticket life\n");
    println!("{}", markdown(&flows));
    for flow in &flows {
        println!("{}", breakdown(flow));
    }
    println!("{}", cost_notes(&flows));
    // The document's "An incident's resolution, fanned out".
    let (calls, notified) = lab.incident_fan_out(150).await;
    println!("### An incident's resolution, fanned out\n\n{notified} linked tickets noted.\n");
    println!("{}", breakdown(&calls));
    // docs/dynamodb.md's "Chat polling".
    println!("### A chat's polls\n\n| poll | calls | read units (est.) |\n|---|---:|---:|");
    for poll in lab.chat_polls(10).await {
        println!("| {} | {} | {} |", poll.name, poll.total(), poll.units.read);
    }
}

/// Hosted help desks, per agent per month or per use (approximate list prices, USD).
mod prices {
    pub const ZENDESK_SUITE_TEAM_AGENT_MONTH: f64 = 55.0;
    pub const CONNECT_VOICE_MINUTE: f64 = 0.018;
    pub const CONNECT_CHAT_MESSAGE: f64 = 0.004;
}

/// Assumptions of the comparison with hosted help desks (not measured).
mod assumptions {
    /// Tickets an agent handles in a month (about 30 a working day).
    pub const TICKETS_PER_AGENT_MONTH: f64 = 600.0;
    /// Average length of a served call, minutes.
    pub const CALL_MINUTES: f64 = 5.0;
    /// Messages of a chat, both ways.
    pub const CHAT_MESSAGES: f64 = 10.0;
    /// SQS queues an event source mapping polls (the template's step and mail queues).
    pub const POLLED_QUEUES: f64 = 5.0;
}

/// What is not per ticket, and what hosted help desks charge for the same 10,000 tickets.
fn cost_notes(flows: &[FlowCalls]) -> String {
    use assumptions::*;
    use aws_calls::prices::*;
    use prices::*;
    let mut out = String::new();
    let totals: Vec<f64> = flows.iter().map(|f| Cost::of(f).total() * 10_000.0).collect();
    let (low, high) = totals.iter().fold((f64::MAX, 0.0f64), |(l, h), t| (l.min(*t), h.max(*t)));
    let _ = writeln!(out, "### Per 10,000 tickets\n");
    let _ = writeln!(
        out,
        "- Sportello on AWS, per-ticket requests only: **${low:.2} to ${high:.2}** per 10,000 tickets \
         depending on the flow (e-mail answers are dominated by SES's $0.10 per 1,000 mails)."
    );
    // An idle event source mapping long-polls (20 s) with about 5 pollers per queue.
    let idle_polls = POLLED_QUEUES * 5.0 * 3.0 * 60.0 * 24.0 * 30.0;
    let _ = writeln!(
        out,
        "- Not per ticket: the event source mappings' idle long polls (about 5 pollers per queue, 20 s \
         each), about {:.0} SQS requests a month for {POLLED_QUEUES} queues (${:.2}/month before SQS's \
         free million requests); CloudWatch Logs, API Gateway ($1.00 per million HTTP API requests) and \
         Amazon Connect's own charges are not modelled.",
        idle_polls,
        idle_polls * SQS_REQUEST
    );
    let agents = 10_000.0 / TICKETS_PER_AGENT_MONTH;
    let _ = writeln!(
        out,
        "- Zendesk Suite Team, ~${ZENDESK_SUITE_TEAM_AGENT_MONTH:.0}/agent/month: at {TICKETS_PER_AGENT_MONTH:.0} \
         tickets per agent a month, 10,000 tickets a month need ~{agents:.0} agents: **~${:.0}/month** in \
         licences alone.",
        agents * ZENDESK_SUITE_TEAM_AGENT_MONTH
    );
    let _ = writeln!(
        out,
        "- Amazon Connect: voice ~${CONNECT_VOICE_MINUTE}/min, {CALL_MINUTES:.0}-minute calls: **~${:.0}** per \
         10,000 calls (telephony numbers extra); chat ~${CONNECT_CHAT_MESSAGE}/message, {CHAT_MESSAGES:.0} \
         messages: **~${:.0}** per 10,000 chats. Sportello's voice function runs behind Connect, so those voice \
         minutes are paid with it too.",
        10_000.0 * CALL_MINUTES * CONNECT_VOICE_MINUTE,
        10_000.0 * CHAT_MESSAGES * CONNECT_CHAT_MESSAGE
    );
    let _ = writeln!(
        out,
        "- Zammad hosted: per agent per month as well (plans on the order of €10–25; approximate), \
         so ~{agents:.0} agents again."
    );
    out
}
