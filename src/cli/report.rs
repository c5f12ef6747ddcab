//! `sportello report`: the reports of the local store, for people (a table), scripts (JSON) and
//! spreadsheets (CSV), and `sportello report export`, the event history as NDJSON for analysts.
//!
//! ```text
//! sportello report --from 2026-12-01 --to 2026-12-31 --by channel,type
//! sportello report backlog --by team --format csv > backlog.csv
//! sportello report tickets --figure sla_breached:resolution --period week
//! sportello report export --from 2026-12-01 > events.ndjson
//! ```

use crate::adapters::embedded::{SqliteReports, ports};
use crate::engine::Engine;
use crate::engine::reports::ListCursor;
use crate::reports::csv::{self, CsvTable, Dialect, Value};
use crate::reports::export::ExportedEvent;
use crate::reports::report::{AgeBucket, DrillDown, Figure, Figures};
use crate::reports::{Cube, Dim, Period, Projector, Scope, TimeStats};
use crate::settings::flags::SettingDefault;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportKind {
    /// Volumes, containment, first-contact resolution, times, SLA, escalations, reminders, CSAT.
    Overview,
    /// Open tickets now, by age and state.
    Backlog,
    /// Per escalation target: outstanding by age, notices, waiting time, reminders.
    Escalations,
    /// Tickets linked to incidents and how long until the closing notice reached them.
    Incidents,
    /// Open data-subject requests (days left of the month) and breach reports (hours left of 72).
    Gdpr,
    /// The tickets behind a figure (`--figure`).
    Tickets,
    /// The event history as NDJSON, without personal data, for DuckDB, pandas, Spark...
    Export,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// Which report [default: overview].
    #[arg(value_enum)]
    pub kind: Option<ReportKind>,
    /// day, week or month around --date (default: this month).
    #[arg(long)]
    pub period: Option<String>,
    /// A date of the period (YYYY-MM-DD) [default: today].
    #[arg(long)]
    pub date: Option<String>,
    /// First day of a custom period (YYYY-MM-DD, the rulebook's time zone).
    #[arg(long)]
    pub from: Option<String>,
    /// Last day of a custom period, included [default: --from].
    #[arg(long)]
    pub to: Option<String>,
    /// Group by any of channel, category, type, team, operator, target (comma-separated).
    #[arg(long)]
    pub by: Option<String>,
    /// table (for people), json (for scripts) or csv.
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// CSV dialect: excel-it (`;`, decimal comma, BOM: Excel with Italian settings) or rfc4180
    /// (`,`, decimal point, no BOM).
    #[arg(long, default_value = "excel-it")]
    pub dialect: String,
    /// With `tickets`: the figure, e.g. resolved, sla_breached:resolution, open:new.
    #[arg(long)]
    pub figure: Option<String>,
    /// With `tickets` and an open figure: today, 1-2d, 3-7d, 8-30d, over_30d.
    #[arg(long)]
    pub age: Option<String>,
    /// With `tickets`: only the group with these values, e.g. --filter channel=chat --filter type=Q.
    #[arg(long = "filter", value_name = "DIM=VALUE")]
    pub filters: Vec<String>,
    /// With `tickets`: at most this many.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    #[arg(long, default_value = "data", default_from_setting = "SPORTELLO_DATA")]
    pub data: PathBuf,
    #[arg(long, default_value = "rules", default_from_setting = "SPORTELLO_RULES")]
    pub rules: PathBuf,
}

fn open(data: &Path, rules: &Path) -> Result<(Engine, SqliteReports), String> {
    let rules = crate::server::load_rules(rules)?;
    let db = crate::server::open_existing_db(data)?;
    let reports = SqliteReports::new(db.clone(), Arc::new(Projector::new(&rules)));
    let mut ports = ports(&db);
    ports.reports = Arc::new(reports.clone());
    let engine = Engine::new(Arc::new(rules), ports);
    Ok((engine, reports))
}

/// Runs `sportello report`; returns what it prints and its exit status. Progress goes to
/// standard error.
pub fn run(args: ReportArgs) -> (String, u8) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return (format!("{e}\n"), 1),
    };
    runtime.block_on(async {
        match report(args).await {
            Ok(out) => (out, 0),
            Err((message, code)) => (format!("{message}\n"), code),
        }
    })
}

type Failed = (String, u8);

fn usage(message: impl Into<String>) -> Failed {
    (message.into(), 2)
}

async fn report(args: ReportArgs) -> Result<String, Failed> {
    let dialect = Dialect::parse(&args.dialect).ok_or_else(|| usage("--dialect: excel-it or rfc4180"))?;
    let (engine, reports) = open(&args.data, &args.rules).map_err(|e| (e, 1))?;
    let kind = args.kind.unwrap_or(ReportKind::Overview);
    // Catching up can take a while on a store that has not been folded for long.
    let mut folded = 0;
    loop {
        let n = reports.project_pending(crate::adapters::embedded::FOLD_BATCH).await.map_err(|e| (e.to_string(), 1))?;
        folded += n;
        if n < crate::adapters::embedded::FOLD_BATCH {
            break;
        }
        eprintln!("reports: {folded} events folded into the aggregates so far...");
    }
    if folded > 0 {
        eprintln!("reports: folded {folded} new events");
    }
    let today = engine.report_today();
    let period = || {
        Period::parse(args.period.as_deref(), args.date.as_deref(), args.from.as_deref(), args.to.as_deref(), today)
            .map_err(|b| usage(format!("--{}: {}", b.parameter, b.message)))
    };
    let by = Dim::parse_list(args.by.as_deref().unwrap_or_default()).map_err(|m| usage(format!("--by: {m}")))?;
    let fail = |e: crate::engine::EngineError| (e.to_string(), 1);
    let scope = Scope::all();
    let out = |json: String, table: CsvTable, text: String| match args.format {
        OutputFormat::Json => json + "\n",
        OutputFormat::Csv => table.to_csv(dialect),
        OutputFormat::Table => text,
    };
    match kind {
        ReportKind::Overview => {
            let r = engine.report_overview(period()?, &by, &scope).await.map_err(fail)?;
            Ok(out(to_json(&r), csv::overview(&r), overview_text(&r)))
        }
        ReportKind::Backlog => {
            let r = engine.report_backlog(&by, &scope).await.map_err(fail)?;
            let table = csv::backlog(&r);
            let text = plain(&table);
            Ok(out(to_json(&r), table, text))
        }
        ReportKind::Escalations => {
            let r = engine.report_escalations(period()?, &scope).await.map_err(fail)?;
            let table = csv::escalations(&r);
            let text = plain(&table);
            Ok(out(to_json(&r), table, text))
        }
        ReportKind::Incidents => {
            let r = engine.report_incidents(period()?).await.map_err(fail)?;
            let table = csv::incidents(&r);
            let text = plain(&table);
            Ok(out(to_json(&r), table, text))
        }
        ReportKind::Gdpr => {
            let r = engine.report_gdpr(&scope).await.map_err(fail)?;
            let table = csv::gdpr(&r);
            let text = plain(&table);
            Ok(out(to_json(&r), table, text))
        }
        ReportKind::Tickets => {
            let name = args
                .figure
                .as_deref()
                .ok_or_else(|| usage("--figure: which figure's tickets, e.g. --figure resolved"))?;
            let figure = Figure::parse(name).map_err(|b| usage(format!("--figure: {}", b.message)))?;
            let (from_day, to_day) = if figure.cube == Cube::Open {
                match args.age.as_deref() {
                    Some(a) => engine.backlog_days(
                        AgeBucket::parse(a).ok_or_else(|| usage("--age: today, 1-2d, 3-7d, 8-30d or over_30d"))?,
                    ),
                    None => (i32::MIN, i32::MAX),
                }
            } else {
                period()?.days()
            };
            let mut filter = Vec::new();
            for f in &args.filters {
                let (dim, value) = f.split_once('=').ok_or_else(|| usage(format!("--filter `{f}`: DIM=VALUE")))?;
                let dim = Dim::parse(dim).ok_or_else(|| usage(format!("--filter: unknown dimension `{dim}`")))?;
                filter.push((dim, value.to_string()));
            }
            let drill = DrillDown { figure, from_day, to_day, filter, scope };
            let page = engine.report_tickets(&drill, None::<&ListCursor>, args.limit).await.map_err(fail)?;
            let table = csv::tickets(&page.tickets);
            let mut text = plain(&table);
            if page.next.is_some() {
                text.push_str(&format!("(more than {}: raise --limit, or use --format csv)\n", args.limit));
            }
            Ok(out(to_json(&page.tickets), table, text))
        }
        ReportKind::Export => {
            let (from, to) = period()?.days();
            let n = export(&reports, &engine, from, to).await.map_err(|e| (e, 1))?;
            eprintln!("reports: exported {n} events");
            Ok(String::new())
        }
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// Writes the events of the local days `from..=to` to standard output as NDJSON.
async fn export(reports: &SqliteReports, engine: &Engine, from: i32, to: i32) -> Result<usize, String> {
    let tz = engine.report_time_zone();
    let mut after = 0i64;
    let mut written = 0;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    loop {
        let batch = reports.events_after(after, 5_000).await.map_err(|e| e.to_string())?;
        let Some(last) = batch.last().map(|(seq, _)| *seq) else {
            break;
        };
        after = last;
        for (_, fe) in batch {
            let day = crate::reports::facts::day_number(fe.event.at.to_zoned_datetime(tz.clone()).date());
            if (from..=to).contains(&day) {
                writeln!(out, "{}", ExportedEvent::of(&fe, &tz).to_line()).map_err(|e| e.to_string())?;
                written += 1;
            }
        }
    }
    out.flush().map_err(|e| e.to_string())?;
    Ok(written)
}

/// A table as aligned text.
fn plain(t: &CsvTable) -> String {
    let cells: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| match v {
                    Value::Text(s) => s.clone(),
                    Value::Int(n) => n.to_string(),
                    Value::Num(x) => format!("{x:.2}"),
                    Value::Empty => "-".into(),
                })
                .collect()
        })
        .collect();
    text_table(&t.columns, &cells)
}

fn text_table(columns: &[String], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = columns.iter().map(|c| c.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let line = |cells: &[String]| {
        let parts: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        parts.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(columns);
    for r in rows {
        out.push_str(&line(r));
    }
    out
}

/// A duration for people: 45s, 12m, 3h 20m, 2d 4h.
pub use crate::text::human_duration as human;

fn time(t: &TimeStats) -> String {
    match (t.p50_seconds, t.p90_seconds) {
        (Some(a), Some(b)) => format!("{} / {}", human(a), human(b)),
        _ => "-".into(),
    }
}

fn percent(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{:.1}%", x * 100.0))
}

fn overview_text(r: &crate::reports::report::Overview) -> String {
    let mut columns: Vec<String> = r.by.iter().map(|d| d.as_str().to_string()).collect();
    columns.extend(
        [
            "received",
            "out of hours",
            "resolved",
            "bot",
            "containment",
            "handed off",
            "FCR",
            "1st resp p50/p90 (biz)",
            "resolution p50/p90 (biz)",
            "SLA 1st resp",
            "SLA resolution",
            "escalated",
            "CSAT",
        ]
        .map(String::from),
    );
    let row = |group: Vec<String>, f: &Figures| {
        let mut cells = group;
        let sla = |k: &str| f.sla.get(k).map_or("-".into(), |s| percent(s.compliance));
        cells.extend([
            f.contacts.received.to_string(),
            f.contacts.out_of_hours.to_string(),
            f.tickets.resolved.to_string(),
            f.tickets.auto_resolved.to_string(),
            percent(f.tickets.containment_rate),
            f.bot.handed_off.to_string(),
            percent(f.tickets.first_contact_resolution_rate),
            time(&f.first_response.business),
            time(&f.resolution.business),
            sla("first_response"),
            sla("resolution"),
            f.escalations.sent.to_string(),
            percent(f.csat.satisfied_share),
        ]);
        cells
    };
    let mut rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row_| {
            let group =
                r.by.iter()
                    .map(|d| crate::reports::report::shown(*d, row_.group.get(d).map_or("", String::as_str)))
                    .collect();
            row(group, &row_.figures)
        })
        .collect();
    rows.push(row(r.by.iter().map(|_| "(all)".to_string()).collect(), &r.total));
    let bot = &r.total.bot;
    let reasons: Vec<String> = crate::reports::metric::HANDOFF_REASONS
        .iter()
        .filter_map(|r| bot.handoff_reasons.get(*r).filter(|n| **n > 0).map(|n| format!("{r} {n}")))
        .collect();
    format!(
        "Overview {} ({} to {}, {})\n\n{}\nBot: {} conversations, {} solved ({}), {} handed off, {} closed out of hours; \
         why they left: {}\n",
        r.period.label,
        r.period.from,
        r.period.to,
        r.time_zone,
        text_table(&columns, &rows),
        bot.conversations,
        bot.contained,
        percent(bot.containment_rate),
        bot.handed_off,
        bot.closed_out_of_hours,
        if reasons.is_empty() { "-".to_string() } else { reasons.join(", ") },
    )
}
