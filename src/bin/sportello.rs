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
    /// Manage the local operator tokens (file `SPORTELLO_OPERATORS`, default data/operators.json).
    #[command(subcommand)]
    Operators(OperatorsCommand),
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
    },
    /// List operators and their roles (never tokens).
    List,
    /// Revoke an operator's token.
    Revoke { id: String },
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
        Command::Operators(cmd) => {
            use sportello::operators_cli::{OperatorsAction, run};
            let action = match cmd {
                OperatorsCommand::Add { id, roles } => OperatorsAction::Add { id, roles },
                OperatorsCommand::List => OperatorsAction::List,
                OperatorsCommand::Revoke { id } => OperatorsAction::Revoke { id },
            };
            let path = sportello::http::operator_auth::operators_path();
            let (out, code) = run(&path, action, jiff::Timestamp::now());
            if code == 0 {
                print!("{out}");
            } else {
                eprint!("{out}");
            }
            ExitCode::from(code)
        }
    }
}
