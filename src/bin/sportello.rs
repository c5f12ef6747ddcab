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
    }
}
