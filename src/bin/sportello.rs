//! The `sportello` command: rulebook tools (and, later, the local server).

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "sportello", version, about = "Contact-center workflow engine for PagoPA's channels")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check, explain, test and draw the rulebook.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// API keys of the ticket API's clients.
    #[command(subcommand)]
    Clients(ClientsCommand),
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
enum RulesCommand {
    /// Check a rulebook: a summary, or every error with file:line:col.
    Check {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Rules(cmd) => sportello::cli::rules(match cmd {
            RulesCommand::Check { path } => sportello::cli::RulesAction::Check { path },
            RulesCommand::Explain { channel, category, at, facts, rules } => {
                sportello::cli::RulesAction::Explain { channel, category, at, facts, rules }
            }
            RulesCommand::Test { paths, rules } => sportello::cli::RulesAction::Test { paths, rules },
            RulesCommand::Graph { rules } => sportello::cli::RulesAction::Graph { rules },
            RulesCommand::Schema => sportello::cli::RulesAction::Schema,
        }),
        Command::Clients(cmd) => {
            use sportello::clients::ClientsAction;
            let path = |keys: Option<PathBuf>| keys.unwrap_or_else(sportello::http::auth::ApiKeys::path_from_env);
            let action = match cmd {
                ClientsCommand::Add { client, keys, rules } => ClientsAction::Add { client, keys: path(keys), rules },
                ClientsCommand::List { keys } => ClientsAction::List { keys: path(keys) },
                ClientsCommand::Revoke { key_id, keys } => ClientsAction::Revoke { key_id, keys: path(keys) },
            };
            let (out, code) = sportello::clients::run(action, jiff::Timestamp::now());
            if code == 0 {
                print!("{out}");
            } else {
                eprint!("{out}");
            }
            ExitCode::from(code)
        }
    }
}
