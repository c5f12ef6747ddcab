//! The `sportello` command: the local server (the default) and the rulebook tools.

use clap::{Parser, Subcommand};
use sportello::settings::flags::SettingDefault;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "sportello",
    version,
    about = "Contact-center workflow engine for PagoPA's channels",
    override_usage = "sportello [COMMAND]\n       sportello [SERVE OPTIONS]    (no command: serve)",
    after_help = "Without a command, Sportello serves: `sportello` is `sportello serve`, and \
                  `sportello --listen 127.0.0.1:9000` is `sportello serve --listen 127.0.0.1:9000` \
                  (`sportello serve --help` lists the options)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The arguments with `serve` put in when they name no command: none at all, or options only
/// (`sportello --listen …`). Help and version stay the top level's.
fn with_serve_default(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let first = args.get(1).and_then(|a| a.to_str()).map(str::to_string);
    let serves = match first.as_deref() {
        None => true,
        Some("-h" | "--help" | "-V" | "--version") => false,
        Some(a) => a.starts_with('-'),
    };
    if serves {
        args.insert(1.min(args.len()), "serve".into());
    }
    args
}

#[derive(Subcommand)]
enum Command {
    /// Run Sportello locally: every endpoint on one port, workers and clock in-process (the
    /// default: no command means serve).
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080", default_from_setting = "SPORTELLO_LISTEN")]
        listen: std::net::SocketAddr,
        #[arg(long, default_value = "data", default_from_setting = "SPORTELLO_DATA")]
        data: PathBuf,
        #[arg(long, default_value = "rules", default_from_setting = "SPORTELLO_RULES")]
        rules: PathBuf,
        /// Most connections open at once; at the cap the oldest one with no request under way
        /// makes room.
        #[arg(long, default_value_t = 1024, default_from_setting = "SPORTELLO_MAX_CONNECTIONS")]
        max_connections: usize,
        /// Time a client has to send a request's whole header (and to start its next request on
        /// a kept-alive connection), e.g. 10s.
        #[arg(long, default_value = "10s", value_parser = duration, default_from_setting = "SPORTELLO_HEADER_TIMEOUT")]
        header_timeout: std::time::Duration,
        /// A connection on which nothing moves while no request is handled is closed after this.
        #[arg(long, default_value = "60s", value_parser = duration, default_from_setting = "SPORTELLO_IDLE_TIMEOUT")]
        idle_timeout: std::time::Duration,
        /// A request not answered within this gets 408.
        #[arg(long, default_value = "60s", value_parser = duration, default_from_setting = "SPORTELLO_REQUEST_TIMEOUT")]
        request_timeout: std::time::Duration,
    },
    /// Check, explain, test and draw the rulebook.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Check the knowledge base, see how the bot reads a question, measure it on question sets.
    #[command(subcommand)]
    Kb(KbCommand),
    /// Manage the local operator tokens (file `SPORTELLO_OPERATORS`, default data/operators.json).
    #[command(subcommand)]
    Operators(OperatorsCommand),
    /// API keys of the ticket API's clients.
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// The local reply queue of resolution notices (docs/resolution-notice.schema.json).
    #[command(subcommand)]
    Notices(NoticesCommand),
    /// The mail the local server sent (acknowledgements, answers, escalations): list, show.
    Outbox {
        #[command(subcommand)]
        action: Option<OutboxCommand>,
    },
    /// Renew the local server's secrets: the mail gateway's token, the reply-token key.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// GDPR art. 17: erase a requester's data, after a preview (the privacy team).
    #[command(subcommand)]
    Erase(EraseCommand),
    /// Reports of the local store: volumes, containment, times, SLA, backlog, escalations,
    /// incidents, GDPR clocks, CSAT; `report export` writes the event history as NDJSON.
    Report(sportello::cli::report::ReportArgs),
    /// Walk the source's flows end to end over HTTP on a throw-away server, printing each step.
    Demo {
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
        /// When the in-hours scenes happen: local time in Rome (2026-12-07T10:00) or RFC 3339
        /// [default: 2026-12-07T10:00:00+01:00, a Monday].
        #[arg(long)]
        at: Option<String>,
        /// When the out-of-hours call comes in [default: 2026-12-06T22:00:00+01:00, a Sunday].
        #[arg(long)]
        closed_at: Option<String>,
        /// Play the scenes against a running Sportello (e.g. http://127.0.0.1:8080) instead of
        /// one in-process; needs the credentials below and SPORTELLO_TARGET_SECRET_<TARGET>.
        #[arg(long)]
        url: Option<String>,
        #[command(flatten)]
        credentials: sportello::demo::RemoteCredentials,
    },
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// One line per message, newest last (the default).
    List {
        /// Only the mail about this ticket (its reference, SP-...).
        #[arg(long)]
        ticket: Option<String>,
        /// How many of the latest messages.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long, default_value = "data", default_from_setting = "SPORTELLO_DATA")]
        data: PathBuf,
    },
    /// One message as its recipient reads it: headers and text.
    Show {
        /// The number `outbox list` shows.
        id: i64,
        /// The MIME message as it would have been sent (an .eml file).
        #[arg(long)]
        raw: bool,
        #[arg(long, default_value = "data", default_from_setting = "SPORTELLO_DATA")]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// A new secret; the old one is still accepted for the grace period. Restart the server.
    Rotate {
        #[arg(value_enum)]
        secret: SecretName,
        /// How long the old secret keeps working (mail in flight, reply tokens already sent),
        /// e.g. 1h or 30d; none when absent.
        #[arg(long)]
        grace: Option<String>,
        #[arg(long, default_value = "data", default_from_setting = "SPORTELLO_DATA")]
        data: PathBuf,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SecretName {
    /// data/mail-token.txt: what the mail gateway presents.
    MailToken,
    /// data/reply-token-key.txt: the key of escalation e-mails' reply tokens.
    ReplyTokenKey,
}

#[derive(clap::Args)]
#[group(required = true, multiple = false)]
struct RequesterArgs {
    /// The requester's e-mail address.
    #[arg(long)]
    email: Option<String>,
    /// The requester's phone number.
    #[arg(long)]
    phone: Option<String>,
    /// The requester's fiscal code.
    #[arg(long)]
    fiscal_code: Option<String>,
}

#[derive(Subcommand)]
enum EraseCommand {
    /// What an erasure would reach (tickets by reference, copies by count) and its confirmation.
    Preview {
        #[command(flatten)]
        requester: RequesterArgs,
        #[arg(long, default_value = "data", default_from_setting = "SPORTELLO_DATA")]
        data: PathBuf,
        #[arg(long, default_value = "rules", default_from_setting = "SPORTELLO_RULES")]
        rules: PathBuf,
    },
    /// Erase what the preview showed, as a privacy operator of the token file.
    Run {
        #[command(flatten)]
        requester: RequesterArgs,
        /// The confirmation the preview printed.
        #[arg(long)]
        confirm: String,
        /// The privacy operator carrying it out (recorded on every ticket).
        #[arg(long = "as", value_name = "OPERATOR")]
        operator: String,
        #[arg(long, default_value = "data", default_from_setting = "SPORTELLO_DATA")]
        data: PathBuf,
        #[arg(long, default_value = "rules", default_from_setting = "SPORTELLO_RULES")]
        rules: PathBuf,
    },
}

#[derive(Subcommand)]
enum NoticesCommand {
    /// Queue a notice message as an SQS target would: a JSON file (or - for standard input), or
    /// one written with --reference, --escalation-id, --target and --notice.
    Send {
        #[arg(required_unless_present = "escalation_id")]
        file: Option<PathBuf>,
        /// The ticket reference of the escalation message.
        #[arg(long, requires_all = ["escalation_id", "target", "notice"], conflicts_with = "file")]
        reference: Option<String>,
        /// The escalation this notice answers (see `notices pending`).
        #[arg(long, requires_all = ["reference", "target", "notice"])]
        escalation_id: Option<String>,
        /// The target answering.
        #[arg(long, requires_all = ["reference", "escalation_id", "notice"])]
        target: Option<String>,
        /// What the target found or did.
        #[arg(long, requires_all = ["reference", "escalation_id", "target"])]
        notice: Option<String>,
        #[arg(long, default_value = "data", default_from_setting = "SPORTELLO_DATA")]
        data: PathBuf,
    },
    /// The escalations waiting for their notice, with the escalation id to quote.
    Pending {
        #[arg(long, default_value = "data", default_from_setting = "SPORTELLO_DATA")]
        data: PathBuf,
        #[arg(long, default_value = "rules", default_from_setting = "SPORTELLO_RULES")]
        rules: PathBuf,
    },
    /// Show the refused notices, as they were sent.
    DeadLetters {
        #[arg(long, default_value = "data", default_from_setting = "SPORTELLO_DATA")]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum OperatorsCommand {
    /// Add an operator and print its token once.
    Add {
        /// The operator's account id, e.g. op-017 (not a name or an e-mail address).
        id: String,
        /// operator, privacy_operator, supervisor, admin (repeatable or comma-separated).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// The token stops working after this, e.g. 90d; never when absent.
        #[arg(long)]
        expires_in: Option<String>,
    },
    /// List operators and their roles (never tokens).
    List,
    /// Give an operator a new token (printed once); the old one stops working at once.
    Rotate {
        id: String,
        /// The new token stops working after this, e.g. 90d; never when absent.
        #[arg(long)]
        expires_in: Option<String>,
    },
    /// Revoke an operator's token.
    Revoke { id: String },
}

#[derive(Subcommand)]
enum ClientsCommand {
    /// Create a key for a client of the rulebook; the key is printed once.
    Add {
        client: String,
        /// Key file (default: $SPORTELLO_API_KEYS or data/api-keys.json).
        #[arg(long)]
        keys: Option<PathBuf>,
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
        /// Also register the client's webhook (signed POSTs when its tickets are resolved); the
        /// signing secret is printed once.
        #[arg(long)]
        webhook: Option<String>,
        /// Webhook file (default: $SPORTELLO_WEBHOOKS or webhooks.json beside the key file).
        #[arg(long)]
        webhooks: Option<PathBuf>,
        /// The key stops working after this, e.g. 365d; never when absent.
        #[arg(long)]
        expires_in: Option<String>,
    },
    /// A new key for the same client (printed once); the old one works for the grace period.
    Rotate {
        key_id: String,
        /// How long the old key keeps working while the client switches, e.g. 24h; none when
        /// absent.
        #[arg(long)]
        grace: Option<String>,
        /// The new key stops working after this; never when absent.
        #[arg(long)]
        expires_in: Option<String>,
        #[arg(long)]
        keys: Option<PathBuf>,
    },
    /// List keys (ids, clients, status; never the keys).
    List {
        #[arg(long)]
        keys: Option<PathBuf>,
    },
    /// Revoke a key by its id.
    Revoke {
        key_id: String,
        #[arg(long)]
        keys: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum KbCommand {
    /// Check the articles: front matter, duplicate ids, missing translations, broken links, and
    /// example questions the bot does not answer with their own article.
    Check {
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
    },
    /// Show how the bot reads a question: its terms, the ranking with scores and why, the decision.
    Ask {
        /// The question, as a citizen would type it.
        question: String,
        /// The chat's language [default: detected from the question].
        #[arg(long)]
        lang: Option<String>,
        /// What the citizen wrote before in the same chat, oldest first (repeatable).
        #[arg(long = "earlier", value_name = "MESSAGE")]
        earlier: Vec<String>,
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
    },
    /// Measure the bot on question sets (YAML; without files, the articles' example questions):
    /// top-1 right, confident wrong, questions with no article answered anyway. Exits 1 when a
    /// target is missed.
    Eval {
        sets: Vec<PathBuf>,
        /// List the questions that went wrong.
        #[arg(long, short)]
        verbose: bool,
        /// Also show the figures for a grid of confidence thresholds.
        #[arg(long)]
        sweep: bool,
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
    },
    /// Example questions learnt from operators' answers, waiting for review: list, promote (into
    /// the article's examples), reject. On AWS, set SPORTELLO_TABLE (and build with `--features aws`).
    Candidates {
        #[command(subcommand)]
        action: CandidatesCommand,
        #[arg(long, default_value = "data", global = true, default_from_setting = "SPORTELLO_DATA")]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum CandidatesCommand {
    /// List candidates, the most often seen first.
    List {
        /// pending, promoted, rejected or all.
        #[arg(long, default_value = "pending")]
        status: String,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Add a candidate to its article's example questions (in the rulebook folder) and mark it
    /// promoted; commit and deploy the folder for the bot to use it.
    Promote {
        id: String,
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
        /// Who decides (an account id), kept with the decision.
        #[arg(long, default_value = "admin", default_from_setting = "USER")]
        by: String,
    },
    /// Mark a candidate rejected: it is not listed as pending again.
    Reject {
        id: String,
        #[arg(long, default_value = "admin", default_from_setting = "USER")]
        by: String,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Check a rulebook: a summary, or every error with file:line:col. Files unchanged since
    /// the last check (the same size and modification time, else the same text) are not parsed
    /// again: what they gave is kept in `.sportello-cache/` in the rulebook's folder (ignored by
    /// git; safe to delete).
    Check {
        /// Rulebook file, or a folder holding rulebook.yaml.
        #[arg(default_value = "rules")]
        path: PathBuf,
        /// Parse every file, and neither read nor write the cache.
        #[arg(long)]
        no_cache: bool,
    },
    /// Check a rulebook as `check` does and, when it has no errors, write its compiled form
    /// beside the YAML (rulebook.compiled): the Lambda functions load that at a cold start
    /// instead of parsing and checking the YAML.
    Compile {
        /// Rulebook file, or a folder holding rulebook.yaml.
        #[arg(default_value = "rules")]
        path: PathBuf,
    },
    /// Show the path a contact takes, step by step.
    Explain {
        #[arg(long)]
        channel: String,
        #[arg(long)]
        category: String,
        /// When the contact arrives: RFC 3339 (2026-12-26T21:30:00+01:00), or local time in the
        /// channel's time zone (2026-12-26T21:30).
        #[arg(long)]
        at: String,
        /// A fact, e.g. --fact bot_resolved=true (repeatable).
        #[arg(long = "fact", value_name = "NAME=BOOL")]
        facts: Vec<String>,
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
    },
    /// Run rule test cases (files or folders of YAML cases).
    Test {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
    },
    /// Print a Mermaid diagram of each channel's flows.
    Graph {
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
    },
    /// Print the rulebook's JSON Schema.
    Schema,
}

/// The command line. A bad value that came from a variable (`SPORTELLO_MAX_CONNECTIONS=abc`)
/// names the variable, which clap's message does not: the flag it names was never typed.
fn parse_cli() -> Cli {
    use clap::CommandFactory;
    use clap::error::{ContextKind, ContextValue};
    let error = match Cli::try_parse_from(with_serve_default(std::env::args_os().collect())) {
        Ok(cli) => return cli,
        Err(e) => e,
    };
    let given = |kind| match error.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        _ => None,
    };
    let from_variable =
        given(ContextKind::InvalidArg).zip(given(ContextKind::InvalidValue)).and_then(|(arg, value)| {
            let command = Cli::command();
            let args = command.get_subcommands().flat_map(|c| c.get_arguments().cloned().collect::<Vec<_>>());
            args.filter_map(|a| a.get_long().filter(|long| arg.starts_with(&format!("--{long} "))).map(str::to_string))
                .filter_map(|long| sportello::settings::flags::setting_of_flag(&long))
                .find(|name| sportello::settings::environment().get(name).is_some_and(|v| v.trim() == value.trim()))
        });
    let _ = error.print();
    if let Some(name) = from_variable {
        eprintln!("The value comes from the environment variable {name}: correct it or unset it.");
    }
    std::process::exit(error.exit_code())
}

fn main() -> ExitCode {
    let cli = parse_cli();
    match cli.command {
        Command::Serve { listen, data, rules, max_connections, header_timeout, idle_timeout, request_timeout } => {
            let limits = sportello::listener::Limits { max_connections, header_timeout, idle_timeout, request_timeout };
            serve(sportello::server::ServerConfig { listen, data_dir: data, rules, limits })
        }
        Command::Report(args) => finish(sportello::cli::report::run(args)),
        Command::Secrets(SecretsCommand::Rotate { secret, grace, data }) => {
            use sportello::secrets::{SecretFile, rotate_file};
            let which = match secret {
                SecretName::MailToken => SecretFile::MailToken,
                SecretName::ReplyTokenKey => SecretFile::ReplyTokenKey,
            };
            finish(rotate_file(&data, which, grace.as_deref(), jiff::Timestamp::now()))
        }
        Command::Erase(cmd) => {
            use sportello::cli::erase::{EraseAction, RequesterLookup, run};
            let found =
                |r: RequesterArgs| RequesterLookup { email: r.email, phone: r.phone, fiscal_code: r.fiscal_code };
            match cmd {
                EraseCommand::Preview { requester, data, rules } => {
                    finish(run(EraseAction::Preview { found: found(requester) }, &data, &rules))
                }
                EraseCommand::Run { requester, confirm, operator, data, rules } => {
                    let operators = sportello::http::operator_auth::operators_path();
                    let action = EraseAction::Run { found: found(requester), confirm, operator, operators };
                    finish(run(action, &data, &rules))
                }
            }
        }
        Command::Rules(cmd) => sportello::cli::rules::rules(match cmd {
            RulesCommand::Check { path, no_cache } => {
                sportello::cli::rules::RulesAction::Check { path, cache: !no_cache }
            }
            RulesCommand::Compile { path } => sportello::cli::rules::RulesAction::Compile { path },
            RulesCommand::Explain { channel, category, at, facts, rules } => {
                sportello::cli::rules::RulesAction::Explain { channel, category, at, facts, rules }
            }
            RulesCommand::Test { paths, rules } => sportello::cli::rules::RulesAction::Test { paths, rules },
            RulesCommand::Graph { rules } => sportello::cli::rules::RulesAction::Graph { rules },
            RulesCommand::Schema => sportello::cli::rules::RulesAction::Schema,
        }),
        Command::Kb(cmd) => {
            use sportello::cli::kb::{KbAction, run};
            let is_eval = matches!(cmd, KbCommand::Eval { .. });
            let (out, code) = run(match cmd {
                KbCommand::Check { rules } => KbAction::Check { rules },
                KbCommand::Ask { question, lang, earlier, rules } => KbAction::Ask { question, lang, earlier, rules },
                KbCommand::Eval { sets, verbose, sweep, rules } => KbAction::Eval { sets, verbose, sweep, rules },
                KbCommand::Candidates { action, data } => {
                    use sportello::cli::kb::CandidatesAction as A;
                    let action = match action {
                        CandidatesCommand::List { status, limit } => A::List { status, limit },
                        CandidatesCommand::Promote { id, rules, by } => A::Promote { id, rules, by },
                        CandidatesCommand::Reject { id, by } => A::Reject { id, by },
                    };
                    KbAction::Candidates { action, data }
                }
            });
            // Missed targets are figures, not errors: they go to standard output with status 1.
            if is_eval && code == 1 {
                print!("{out}");
                return ExitCode::from(code);
            }
            finish((out, code))
        }
        Command::Operators(cmd) => {
            use sportello::cli::operators::{OperatorsAction, run};
            let action = match cmd {
                OperatorsCommand::Add { id, roles, expires_in } => OperatorsAction::Add { id, roles, expires_in },
                OperatorsCommand::List => OperatorsAction::List,
                OperatorsCommand::Rotate { id, expires_in } => OperatorsAction::Rotate { id, expires_in },
                OperatorsCommand::Revoke { id } => OperatorsAction::Revoke { id },
            };
            let path = sportello::http::operator_auth::operators_path();
            finish(run(&path, action, jiff::Timestamp::now()))
        }
        Command::Outbox { action } => {
            use sportello::cli::outbox::{OutboxAction, run};
            let action = match action {
                Some(OutboxCommand::List { ticket, limit, data }) => OutboxAction::List { data, ticket, limit },
                Some(OutboxCommand::Show { id, raw, data }) => OutboxAction::Show { data, id, raw },
                None => OutboxAction::List {
                    data: sportello::settings::environment().path("SPORTELLO_DATA").unwrap_or_else(|| "data".into()),
                    ticket: None,
                    limit: 20,
                },
            };
            let (out, code) = run(action);
            use std::io::Write;
            let written = if code == 0 { std::io::stdout().write_all(&out) } else { std::io::stderr().write_all(&out) };
            if written.is_err() {
                return ExitCode::FAILURE;
            }
            ExitCode::from(code)
        }
        Command::Notices(cmd) => {
            use sportello::cli::notices::{NoticesAction, run};
            finish(run(match cmd {
                NoticesCommand::Send { file, reference, escalation_id, target, notice, data } => {
                    let composed = match (reference, escalation_id, target, notice) {
                        (Some(reference), Some(escalation_id), Some(target), Some(notice)) => {
                            Some(sportello::cli::notices::Composed { reference, escalation_id, target, notice })
                        }
                        _ => None,
                    };
                    NoticesAction::Send { file, composed, data }
                }
                NoticesCommand::DeadLetters { data } => NoticesAction::DeadLetters { data },
                NoticesCommand::Pending { data, rules } => NoticesAction::Pending { data, rules },
            }))
        }
        Command::Clients(cmd) => {
            use sportello::cli::clients::ClientsAction;
            let path = |keys: Option<PathBuf>| keys.unwrap_or_else(sportello::http::auth::ApiKeys::path_from_env);
            if let ClientsCommand::Add { client, keys, rules, webhook: Some(url), webhooks, expires_in } = cmd {
                let keys = path(keys);
                let file = webhooks
                    .or_else(|| sportello::settings::environment().path("SPORTELLO_WEBHOOKS"))
                    .unwrap_or_else(|| keys.with_file_name("webhooks.json"));
                let now = jiff::Timestamp::now();
                let (mut out, code) = sportello::cli::clients::run(
                    ClientsAction::Add { client: client.clone(), keys, rules, expires_in },
                    now,
                );
                if code != 0 {
                    return finish((out, code));
                }
                let (more, code) = sportello::cli::clients::run(ClientsAction::Webhook { client, url, file }, now);
                out.push_str(&more);
                return finish((out, code));
            }
            let action = match cmd {
                ClientsCommand::Add { client, keys, rules, expires_in, .. } => {
                    ClientsAction::Add { client, keys: path(keys), rules, expires_in }
                }
                ClientsCommand::Rotate { key_id, grace, expires_in, keys } => {
                    ClientsAction::Rotate { key_id, keys: path(keys), grace, expires_in }
                }
                ClientsCommand::List { keys } => ClientsAction::List { keys: path(keys) },
                ClientsCommand::Revoke { key_id, keys } => ClientsAction::Revoke { key_id, keys: path(keys) },
            };
            finish(sportello::cli::clients::run(action, jiff::Timestamp::now()))
        }
        Command::Demo { rules, at, closed_at, url, credentials } => {
            sportello::cli::demo::demo(sportello::demo::DemoOptions { rules, at, closed_at, url, credentials })
        }
    }
}

/// A duration flag: `10s`, `2m`, `1h`.
fn duration(text: &str) -> Result<std::time::Duration, String> {
    let d = sportello::secrets::parse_duration(text)?;
    d.try_into().map_err(|_| format!("`{text}` is not a positive duration"))
}

fn serve(config: sportello::server::ServerConfig) -> ExitCode {
    sportello::logging::init(false);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(sportello::server::serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Prints a command's output (errors to stderr) and exits with its status.
fn finish((out, code): (String, u8)) -> ExitCode {
    if code == 0 {
        print!("{out}");
    } else {
        eprint!("{out}");
    }
    ExitCode::from(code)
}
