//! The `sportello kb` commands, for the people who write the knowledge base: `check` (the
//! articles, as `rules check` does for the rulebook), `ask` (how the bot reads one question, as
//! `rules explain` shows a contact's path), `eval` (the figures on a question set) and
//! `candidates` (example questions learnt from operators, to review).

use crate::knowledge::eval::{self, BotReply, EvalFigures};
use crate::knowledge::search::{BotAnswer, FIELD_NAMES, KnowledgeIndex, Question, TermOrigin, Thresholds};
use crate::ports::{CandidateStatus, KnowledgeCandidates, StoreError};
use crate::rules::Rules;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub enum KbAction {
    Check { rules: PathBuf },
    Ask { question: String, lang: Option<String>, earlier: Vec<String>, rules: PathBuf },
    Eval { sets: Vec<PathBuf>, verbose: bool, sweep: bool, rules: PathBuf },
    Candidates { action: CandidatesAction, data: PathBuf },
}

pub enum CandidatesAction {
    /// `status`: `pending`, `promoted`, `rejected` or `all`.
    List {
        status: String,
        limit: usize,
    },
    /// Adds the question to the article's examples and marks it promoted.
    Promote {
        id: String,
        rules: PathBuf,
        by: String,
    },
    Reject {
        id: String,
        by: String,
    },
}

fn load(rules: &Path, out: &mut String) -> Option<Rules> {
    match Rules::load(rules) {
        Ok(r) if r.knowledge.folder.is_none() => {
            let _ = writeln!(out, "rulebook `{}` names no knowledge folder (`knowledge:`)", r.file);
            None
        }
        Ok(r) => Some(r),
        Err(diagnostics) => {
            let _ = writeln!(out, "rulebook `{}` has errors:\n", rules.display());
            for d in &diagnostics {
                let _ = writeln!(out, "{d}");
            }
            None
        }
    }
}

/// Runs a kb command; returns what it prints and its exit status.
pub fn run(action: KbAction) -> (String, u8) {
    let mut out = String::new();
    match action {
        KbAction::Check { rules } => {
            let Some(rules) = load(&rules, &mut out) else { return (out, 1) };
            check(&rules, &mut out)
        }
        KbAction::Ask { question, lang, earlier, rules } => {
            let Some(rules) = load(&rules, &mut out) else { return (out, 1) };
            if question.trim().is_empty() {
                return (
                    "the question is empty: write it between quotes, e.g. kb ask \"dove trovo la ricevuta?\"\n".into(),
                    2,
                );
            }
            if let Some(l) = &lang
                && !rules.languages.contains(l)
            {
                return (format!("--lang `{l}`: the rulebook's languages are {}\n", rules.languages.join(", ")), 2);
            }
            let index = KnowledgeIndex::build(&rules.knowledge);
            let lang = lang.unwrap_or_else(|| crate::knowledge::search::detect_language(&question).to_string());
            ask(&index, &Question { text: &question, earlier: &earlier }, &lang, &mut out);
            (out, 0)
        }
        KbAction::Candidates { action, data } => candidates(action, &data),
        KbAction::Eval { sets, verbose, sweep, rules } => {
            let Some(rules) = load(&rules, &mut out) else { return (out, 1) };
            let index = KnowledgeIndex::build(&rules.knowledge);
            let mut runs = Vec::new();
            if sets.is_empty() {
                runs.push(("the articles' example questions".to_string(), eval::examples_set(&rules.knowledge)));
            }
            for path in &sets {
                match eval::load_set(path) {
                    Ok(set) => runs.push((path.display().to_string(), set)),
                    Err(e) => return (format!("{e}\n"), 2),
                }
            }
            let mut code = 0;
            for (name, set) in &runs {
                let unknown = eval::unknown_ids(&rules.knowledge, set);
                if !unknown.is_empty() {
                    let _ = writeln!(out, "{name}: `expect` names no article: {}", unknown.join(", "));
                    return (out, 2);
                }
                let figures = eval::evaluate(&index, set);
                out.push_str(&figures.render(name));
                if verbose {
                    out.push('\n');
                    out.push_str(&figures.render_mistakes());
                }
                if sweep {
                    out.push('\n');
                    out.push_str(&sweep_table(&rules, set));
                }
                out.push('\n');
                if !figures.meets_targets() {
                    code = 1;
                }
            }
            (out, code)
        }
    }
}

fn check(rules: &Rules, out: &mut String) -> (String, u8) {
    let kb = &rules.knowledge;
    let problems = kb.check(&rules.languages, rules.categories.keys().map(|c| c.as_str()).collect());
    let errors = problems.iter().filter(|p| p.is_error).count();
    let examples: usize = kb.articles.iter().map(|a| a.meta.examples.len()).sum();
    let folder = kb.folder.as_deref().map(|f| f.display().to_string()).unwrap_or_default();
    let _ = writeln!(
        out,
        "Knowledge base `{folder}`: {} articles in {} files ({}), {examples} example questions",
        kb.ids().len(),
        kb.articles.len(),
        rules.languages.join(", ")
    );
    // Example questions the bot does not answer with their own article: the article, or another,
    // needs better words.
    let index = KnowledgeIndex::build(kb);
    let figures = eval::evaluate(&index, &eval::examples_set(kb));
    let mut advice = Vec::new();
    for g in &figures.graded {
        match &g.reply {
            BotReply::Answered(id) if *id != g.question.expect => advice.push(format!(
                "example {:?} of `{}` ({}) is answered with `{id}`: make the two articles' words tell them apart",
                g.question.q, g.question.expect, g.question.lang
            )),
            BotReply::AskedBack(ids) if !ids.contains(&g.question.expect) => advice.push(format!(
                "example {:?} of `{}` ({}) gets suggestions without its own article ({})",
                g.question.q,
                g.question.expect,
                g.question.lang,
                ids.join(", ")
            )),
            BotReply::NoMatch | BotReply::WantsOperator => advice.push(format!(
                "example {:?} of `{}` ({}) matches no article: its words are in neither title, keywords nor examples",
                g.question.q, g.question.expect, g.question.lang
            )),
            _ => {}
        }
    }
    let _ = writeln!(
        out,
        "Example questions answered with their own article: {}/{}; asked back: {}",
        figures.answered_right(),
        figures.questions(),
        figures.asked_back()
    );
    if problems.is_empty() && advice.is_empty() {
        out.push_str("No problems found.\n");
        return (std::mem::take(out), 0);
    }
    for p in &problems {
        let _ = writeln!(out, "{}: {}", if p.is_error { "error" } else { "warning" }, p.message);
        if let Some(help) = &p.help {
            let _ = writeln!(out, "  help: {help}");
        }
    }
    for a in &advice {
        let _ = writeln!(out, "note: {a}");
    }
    let _ = writeln!(out, "\n{errors} error(s), {} warning(s), {} note(s)", problems.len() - errors, advice.len());
    (std::mem::take(out), u8::from(errors > 0))
}

fn ask(index: &KnowledgeIndex, question: &Question<'_>, lang: &str, out: &mut String) {
    let x = index.explain(question, lang);
    let t = index.thresholds();
    let _ = writeln!(out, "Question ({}): {:?}", x.lang, question.text);
    for (i, e) in question.earlier.iter().enumerate() {
        let _ = writeln!(out, "  earlier message {}: {e:?}", i + 1);
    }
    let words: Vec<String> = x
        .terms
        .iter()
        .filter(|q| q.origin != TermOrigin::Pair)
        .map(|q| {
            let origin = match &q.origin {
                TermOrigin::Corrected { from } => format!(" (typo: {from:?})"),
                TermOrigin::Earlier => " (earlier message)".into(),
                _ => String::new(),
            };
            let unknown = if q.known { "" } else { ", unknown to the articles" };
            format!("{} ×{:.2}{origin}{unknown}", q.term, q.weight)
        })
        .collect();
    if !words.is_empty() {
        let _ = writeln!(out, "Terms: {}", words.join("; "));
    }
    let eligible: Vec<_> = x.ranked.iter().filter(|r| r.eligible).collect();
    let decision = match &x.answer {
        BotAnswer::Confident(h) => {
            let lead = match eligible.get(1) {
                Some(second) => format!("{:.1}× the runner-up (needs {:.1}×)", h.score / second.hit.score, t.margin),
                None => "no runner-up".into(),
            };
            let coverage = eligible.first().map_or(0.0, |r| r.coverage);
            format!(
                "answer with `{}`: score {:.2} (needs {:.2}), {lead}, covers {:.0} % of the question (needs {:.0} %)",
                h.id,
                h.score,
                t.score,
                coverage * 100.0,
                t.coverage * 100.0
            )
        }
        BotAnswer::Unsure(hits) => {
            let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
            let why = match (eligible.first(), eligible.get(1)) {
                (Some(a), _) if a.hit.score < t.score => {
                    format!("the best scores {:.2}, under {:.2}", a.hit.score, t.score)
                }
                (Some(a), _) if a.coverage < t.coverage => format!(
                    "the best covers {:.0} % of the question, under {:.0} %",
                    a.coverage * 100.0,
                    t.coverage * 100.0
                ),
                (Some(a), Some(b)) => {
                    format!("the best leads the runner-up by {:.2}×, under {:.1}×", a.hit.score / b.hit.score, t.margin)
                }
                _ => "no article is clearly ahead".into(),
            };
            format!("ask back (\"Intendevi…?\") with {}: {why}", ids.join(", "))
        }
        BotAnswer::NoMatch => "no article's title, keywords or examples match: say so and offer an operator".into(),
        BotAnswer::WantsOperator => "the message asks for a person: hand the chat to an operator".into(),
    };
    let _ =
        writeln!(out, "Decision: {decision}{}", if x.used_earlier { " (read with the earlier messages)" } else { "" });
    if x.ranked.is_empty() {
        return;
    }
    out.push_str("Ranking:\n");
    for (n, r) in x.ranked.iter().take(5).enumerate() {
        let flag = if r.eligible { "" } else { "  (body only: never answered)" };
        let _ = writeln!(
            out,
            "  {}. {:<32} score {:.2}, covers {:.0} %{flag}",
            n + 1,
            r.hit.id,
            r.hit.score,
            r.coverage * 100.0
        );
        if let Some((phrase, sim)) = &r.nearest {
            let _ = writeln!(out, "       closest: {phrase:?} ({sim:.2})");
        }
        let mut matched = r.matched.clone();
        matched.sort_by(|a, b| b.1.iter().sum::<f32>().total_cmp(&a.1.iter().sum::<f32>()));
        for (term, by_field) in matched.iter().take(6) {
            let fields: Vec<String> = by_field
                .iter()
                .zip(FIELD_NAMES)
                .filter(|(s, _)| **s > 0.0)
                .map(|(s, f)| format!("{f} {s:.2}"))
                .collect();
            let _ = writeln!(out, "       {term:<24} {}", fields.join(", "));
        }
    }
}

/// Confident answers and confident wrong answers on a set for a grid of thresholds (the share of
/// the question the top article must cover × its lead over the second), the score threshold
/// as it is: how the chosen ones compare with their neighbours.
fn sweep_table(rules: &Rules, set: &[eval::SetQuestion]) -> String {
    let current = Thresholds::default();
    let mut out = String::from(
        "Thresholds (coverage × margin): answered / confident wrong / none answered\n| coverage \\ margin |",
    );
    let margins = [1.1f32, 1.2, 1.3, 1.4, 1.5, 1.7, 2.0];
    let coverages = [0.4f32, 0.5, 0.6, 0.7, 0.8];
    for m in margins {
        let _ = write!(out, " {m:.1} |");
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(margins.len()));
    out.push('\n');
    let mut index = KnowledgeIndex::build(&rules.knowledge);
    for c in coverages {
        let _ = write!(out, "| {:.0} % |", c * 100.0);
        for m in margins {
            index.set_thresholds(Thresholds { score: current.score, margin: m, coverage: c });
            let f: EvalFigures = eval::evaluate(&index, set);
            let here = if (c - current.coverage).abs() < 1e-6 && (m - current.margin).abs() < 1e-6 { "*" } else { "" };
            let _ = write!(out, " {here}{}/{}/{} |", f.answered(), f.confident_wrong(), f.none_answered());
        }
        out.push('\n');
    }
    out.push_str("(* the thresholds in use)\n");
    out
}
/// The candidates' store: DynamoDB when the environment names a table (`SPORTELLO_TABLE`, as the
/// functions read it; needs the `aws` build), else the local server's store under `data`.
async fn candidates_store(data: &Path) -> Result<(Arc<dyn KnowledgeCandidates>, String), String> {
    #[cfg(feature = "aws")]
    if let Some(table) = crate::settings::environment().get("SPORTELLO_TABLE") {
        let config = crate::adapters::aws::load_config(None).await;
        let client = aws_sdk_dynamodb::Client::new(&config);
        return Ok((
            Arc::new(crate::adapters::aws::DynamoKbCandidates::new(client, &table)),
            format!("DynamoDB table {table}"),
        ));
    }
    let path = data.join("sportello.db");
    if !path.exists() {
        return Err(format!(
            "no store at `{}`: run this where the server keeps its data, or give --data (on AWS, set SPORTELLO_TABLE)",
            path.display()
        ));
    }
    let db =
        crate::adapters::embedded::Db::open(&path).map_err(|e| format!("cannot open `{}`: {e}", path.display()))?;
    Ok((Arc::new(crate::adapters::embedded::SqliteKbCandidates::new(db)), path.display().to_string()))
}

fn candidates(action: CandidatesAction, data: &Path) -> (String, u8) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return (format!("{e}\n"), 1),
    };
    runtime.block_on(async {
        let (store, where_) = match candidates_store(data).await {
            Ok(s) => s,
            Err(e) => return (format!("{e}\n"), 1),
        };
        let not_found = |id: &str| format!("no candidate `{id}`; `sportello kb candidates list` shows them\n");
        match action {
            CandidatesAction::List { status, limit } => {
                let wanted = match status.as_str() {
                    "all" => None,
                    s => match CandidateStatus::parse(s) {
                        Some(s) => Some(s),
                        None => return (format!("--status `{s}`: use pending, promoted, rejected or all\n"), 2),
                    },
                };
                let list = match store.list(wanted, limit).await {
                    Ok(l) => l,
                    Err(e) => return (format!("cannot list candidates ({where_}): {e}\n"), 1),
                };
                let mut out = format!("{} candidate(s) ({status}) in {where_}\n", list.len());
                if !list.is_empty() {
                    out.push_str(
                        "id                status    times  lang  article                          question\n",
                    );
                }
                for c in &list {
                    let _ = writeln!(
                        out,
                        "{:<17} {:<9} {:>5}  {:<5} {:<32} {:?}",
                        c.id,
                        c.status.as_str(),
                        c.times,
                        c.lang,
                        c.article,
                        c.question
                    );
                }
                (out, 0)
            }
            CandidatesAction::Reject { id, by } => {
                match store.decide(&id, CandidateStatus::Rejected, &by, jiff::Timestamp::now()).await {
                    Ok(c) => (format!("rejected {}: {:?} ({})\n", c.id, c.question, c.article), 0),
                    Err(StoreError::NotFound(_)) => (not_found(&id), 1),
                    Err(e) => (format!("cannot reject {id}: {e}\n"), 1),
                }
            }
            CandidatesAction::Promote { id, rules, by } => {
                let c = match store.get(&id).await {
                    Ok(c) => c,
                    Err(StoreError::NotFound(_)) => return (not_found(&id), 1),
                    Err(e) => return (format!("cannot read {id}: {e}\n"), 1),
                };
                let mut out = String::new();
                let Some(loaded) = load(&rules, &mut out) else { return (out, 1) };
                let Some(article) =
                    loaded.knowledge.articles.iter().find(|a| a.meta.id == c.article && a.meta.lang == c.lang)
                else {
                    return (
                        format!(
                            "the knowledge base has no `{}` article in `{}`: write it, then promote {id} again\n",
                            c.article, c.lang
                        ),
                        1,
                    );
                };
                if c.status == CandidateStatus::Promoted
                    && article.meta.examples.iter().any(|e| {
                        crate::knowledge::search::normalize(e) == crate::knowledge::search::normalize(&c.question)
                    })
                {
                    return (
                        format!("{id} is already promoted: `{}` lists {:?}\n", article.file.display(), c.question),
                        0,
                    );
                }
                // Already listed (added by hand, or a promotion cut short): only the mark is missing.
                if let Err(e) = crate::knowledge::add_example(&article.file, &c.question)
                    && !e.contains("already lists")
                {
                    return (format!("{e}\n"), 1);
                }
                if let Err(e) = store.decide(&id, CandidateStatus::Promoted, &by, jiff::Timestamp::now()).await {
                    return (
                        format!(
                            "added to `{}`, but the candidate could not be marked promoted: {e}\n",
                            article.file.display()
                        ),
                        1,
                    );
                }
                let _ = writeln!(out, "added {:?} to the examples of `{}`", c.question, article.file.display());
                // How the bot now reads it, from the files as they are.
                if let Ok(fresh) = Rules::load(&rules) {
                    let index = KnowledgeIndex::build(&fresh.knowledge);
                    let verdict = match index.answer(&c.question, &c.lang) {
                        BotAnswer::Confident(h) if h.id == c.article => {
                            "the bot now answers it with this article".to_string()
                        }
                        BotAnswer::Confident(h) => {
                            format!("the bot still answers it with `{}`: tell the two articles apart", h.id)
                        }
                        _ => "the bot still asks back on it: `sportello kb ask` shows why".to_string(),
                    };
                    let _ = writeln!(out, "{verdict}");
                }
                out.push_str("The bot uses it once the rulebook folder is deployed again.\n");
                (out, 0)
            }
        }
    })
}
