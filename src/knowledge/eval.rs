//! How well the bot does on a set of questions: `sportello kb eval`, and the tests.
//!
//! A question set is a YAML file:
//!
//! ```yaml
//! questions:
//!   - {lang: it, q: "dove trovo la ricevuta?", expect: payment-receipt}
//!   - {lang: en, q: "what's the weather tomorrow", expect: none}
//!   - {lang: it, context: ["ho pagato la tari con IO"], q: "e la ricevuta?", expect: payment-receipt}
//! ```
//!
//! `expect: none` marks a question no article answers: the bot must not answer it. Without a file,
//! the articles' own example questions are the set.

use super::KnowledgeBase;
use super::search::{BotAnswer, KnowledgeIndex, Question};
use serde::Deserialize;
use std::path::Path;

/// The `expect` of a question no article answers.
pub const NONE: &str = "none";

/// The targets a knowledge base and its bot are held to (on a held-out set).
pub const TARGET_TOP1_PERCENT: f64 = 90.0;
pub const TARGET_CONFIDENT_WRONG_PERCENT: f64 = 1.0;
/// Questions with no fitting article that may be answered anyway: none.
pub const TARGET_NONE_ANSWERED: usize = 0;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetFile {
    questions: Vec<SetQuestion>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetQuestion {
    pub lang: String,
    pub q: String,
    /// An article id, or `none`.
    pub expect: String,
    /// What the citizen wrote before, oldest first.
    #[serde(default)]
    pub context: Vec<String>,
}

/// Reads a question set; errors say where (file:line:col) and what.
pub fn load_set(path: &Path) -> Result<Vec<SetQuestion>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let file: SetFile = serde_saphyr::from_str(&text).map_err(|e| {
        let msg = e.without_snippet().to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        match e.location() {
            Some(l) => format!("{}:{}:{}: {msg}", path.display(), l.line(), l.column()),
            None => format!("{}: {msg}", path.display()),
        }
    })?;
    Ok(file.questions)
}

/// The articles' example questions, each expecting its own article.
pub fn examples_set(kb: &KnowledgeBase) -> Vec<SetQuestion> {
    let mut set = Vec::new();
    for a in &kb.articles {
        for e in &a.meta.examples {
            set.push(SetQuestion {
                lang: a.meta.lang.clone(),
                q: e.clone(),
                expect: a.meta.id.clone(),
                context: vec![],
            });
        }
    }
    set
}

/// Expected ids that name no article (`none` aside): a typo in a question set, reported before
/// any figure, since it would count as a miss.
pub fn unknown_ids<'a>(kb: &KnowledgeBase, set: &'a [SetQuestion]) -> Vec<&'a str> {
    let ids = kb.ids();
    let mut unknown: Vec<&str> =
        set.iter().map(|q| q.expect.as_str()).filter(|e| *e != NONE && !ids.contains_key(e)).collect();
    unknown.sort_unstable();
    unknown.dedup();
    unknown
}

/// What the bot did with one question.
#[derive(Debug, Clone, PartialEq)]
pub enum BotReply {
    Answered(String),
    AskedBack(Vec<String>),
    NoMatch,
    WantsOperator,
}

#[derive(Debug, Clone)]
pub struct Graded {
    pub question: SetQuestion,
    pub reply: BotReply,
    /// The first article the bot names (its answer, or its first suggestion).
    pub top: Option<String>,
}

impl Graded {
    pub fn expects_article(&self) -> bool {
        self.question.expect != NONE
    }
    pub fn top_right(&self) -> bool {
        self.top.as_deref() == Some(self.question.expect.as_str())
    }
    /// Answered with an article other than the expected one (any answer, for a `none` question).
    pub fn confident_wrong(&self) -> bool {
        matches!(&self.reply, BotReply::Answered(id) if *id != self.question.expect)
    }
    pub fn answered_right(&self) -> bool {
        matches!(&self.reply, BotReply::Answered(id) if *id == self.question.expect)
    }
}

/// The figures of a run.
#[derive(Debug, Clone, Default)]
pub struct EvalFigures {
    pub graded: Vec<Graded>,
}

impl EvalFigures {
    pub fn questions(&self) -> usize {
        self.graded.len()
    }
    pub fn with_article(&self) -> usize {
        self.graded.iter().filter(|g| g.expects_article()).count()
    }
    pub fn without_article(&self) -> usize {
        self.questions() - self.with_article()
    }
    /// Questions with an article whose top article is right.
    pub fn top1_right(&self) -> usize {
        self.graded.iter().filter(|g| g.expects_article() && g.top_right()).count()
    }
    pub fn answered(&self) -> usize {
        self.graded.iter().filter(|g| matches!(g.reply, BotReply::Answered(_))).count()
    }
    pub fn answered_right(&self) -> usize {
        self.graded.iter().filter(|g| g.answered_right()).count()
    }
    pub fn confident_wrong(&self) -> usize {
        self.graded.iter().filter(|g| g.confident_wrong()).count()
    }
    pub fn asked_back(&self) -> usize {
        self.graded.iter().filter(|g| matches!(g.reply, BotReply::AskedBack(_))).count()
    }
    /// Ask-backs whose suggestions hold the expected article.
    pub fn asked_back_holding_right(&self) -> usize {
        self.graded
            .iter()
            .filter(|g| matches!(&g.reply, BotReply::AskedBack(ids) if ids.contains(&g.question.expect)))
            .count()
    }
    /// `none` questions the bot answered anyway.
    pub fn none_answered(&self) -> usize {
        self.graded.iter().filter(|g| !g.expects_article() && matches!(g.reply, BotReply::Answered(_))).count()
    }
    pub fn top1_percent(&self) -> f64 {
        percent(self.top1_right(), self.with_article())
    }
    pub fn confident_wrong_percent(&self) -> f64 {
        percent(self.confident_wrong(), self.questions())
    }
    /// Whether the targets are met.
    pub fn meets_targets(&self) -> bool {
        self.top1_percent() >= TARGET_TOP1_PERCENT
            && self.confident_wrong_percent() <= TARGET_CONFIDENT_WRONG_PERCENT
            && self.none_answered() == TARGET_NONE_ANSWERED
    }

    /// The table of figures, as `sportello kb eval` prints it.
    pub fn render(&self, name: &str) -> String {
        let n = self.questions();
        let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
        let mut out = format!(
            "{name}: {n} questions ({} with an article, {} with none)\n\n",
            self.with_article(),
            self.without_article()
        );
        out.push_str("| measure | figure | target |\n|---|---|---|\n");
        out.push_str(&format!(
            "| top-1 right article | {}/{} = {:.1} % | >= {TARGET_TOP1_PERCENT:.0} % {} |\n",
            self.top1_right(),
            self.with_article(),
            self.top1_percent(),
            verdict(self.top1_percent() >= TARGET_TOP1_PERCENT)
        ));
        out.push_str(&format!(
            "| confident wrong answers | {}/{n} = {:.1} % | <= {TARGET_CONFIDENT_WRONG_PERCENT:.0} % {} |\n",
            self.confident_wrong(),
            self.confident_wrong_percent(),
            verdict(self.confident_wrong_percent() <= TARGET_CONFIDENT_WRONG_PERCENT)
        ));
        out.push_str(&format!(
            "| no fitting article, answered anyway | {}/{} | {TARGET_NONE_ANSWERED} {} |\n",
            self.none_answered(),
            self.without_article(),
            verdict(self.none_answered() == TARGET_NONE_ANSWERED)
        ));
        out.push_str(&format!(
            "| answered (right) | {} ({}) = {:.1} % of all |  |\n",
            self.answered(),
            self.answered_right(),
            percent(self.answered(), n)
        ));
        out.push_str(&format!(
            "| asked back (right article among the suggestions) | {} ({}) = {:.1} % of all |  |\n",
            self.asked_back(),
            self.asked_back_holding_right(),
            percent(self.asked_back(), n)
        ));
        out
    }

    /// The questions that went wrong, one per line: confident wrong answers first, then top-1
    /// misses.
    pub fn render_mistakes(&self) -> String {
        let mut out = String::new();
        let line = |g: &Graded| {
            let ctx = if g.question.context.is_empty() {
                String::new()
            } else {
                format!(" (after {:?})", g.question.context)
            };
            format!(
                "  [{}] {:?}{ctx}: expected {}, {}\n",
                g.question.lang,
                g.question.q,
                g.question.expect,
                describe(&g.reply)
            )
        };
        let wrong: Vec<&Graded> = self.graded.iter().filter(|g| g.confident_wrong()).collect();
        if !wrong.is_empty() {
            out.push_str("confident and wrong:\n");
            wrong.iter().for_each(|g| out.push_str(&line(g)));
        }
        let missed: Vec<&Graded> =
            self.graded.iter().filter(|g| g.expects_article() && !g.top_right() && !g.confident_wrong()).collect();
        if !missed.is_empty() {
            out.push_str("top-1 misses:\n");
            missed.iter().for_each(|g| out.push_str(&line(g)));
        }
        out
    }
}

fn describe(reply: &BotReply) -> String {
    match reply {
        BotReply::Answered(id) => format!("answered {id}"),
        BotReply::AskedBack(ids) => format!("asked back with {}", ids.join(", ")),
        BotReply::NoMatch => "found nothing".into(),
        BotReply::WantsOperator => "read a request for an operator".into(),
    }
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 * 100.0 / whole as f64 }
}

/// Asks the bot every question of the set.
pub fn evaluate(index: &KnowledgeIndex, set: &[SetQuestion]) -> EvalFigures {
    let graded = set
        .iter()
        .map(|q| {
            let answer = index.answer_in(&Question { text: &q.q, earlier: &q.context }, &q.lang);
            let (reply, top) = match answer {
                BotAnswer::Confident(h) => (BotReply::Answered(h.id.clone()), Some(h.id)),
                BotAnswer::Unsure(hits) => {
                    let top = hits.first().map(|h| h.id.clone());
                    (BotReply::AskedBack(hits.into_iter().map(|h| h.id).collect()), top)
                }
                BotAnswer::NoMatch => (BotReply::NoMatch, None),
                BotAnswer::WantsOperator => (BotReply::WantsOperator, None),
            };
            Graded { question: q.clone(), reply, top }
        })
        .collect();
    EvalFigures { graded }
}
