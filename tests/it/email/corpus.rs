//! The inbound-email corpus: real-world shaped messages, parsed end to end.

use proptest::prelude::*;
use sportello::domain::TicketReference;
use sportello::email::*;
use std::path::PathBuf;

const OURS: &[&str] = &["pagopa.it"];

fn raw(name: &str) -> Vec<u8> {
    crate::support::fixture(name)
}

fn email(name: &str) -> InboundEmail {
    parse_inbound(&raw(&format!("emails/{name}"))).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn sender(e: &InboundEmail) -> (&str, Option<&str>) {
    let from = e.from.as_ref().expect("a sender");
    (from.address.as_str(), from.name.as_deref())
}

fn reference(s: &str) -> Option<TicketReference> {
    Some(TicketReference(s.to_owned()))
}

#[test]
fn every_fixture_parses() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/emails");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let e = parse_inbound(&std::fs::read(&path).unwrap()).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        assert!(e.from.is_some(), "{}", path.display());
        assert!(e.message_id.is_some(), "{}", path.display());
        assert!(e.date.is_some(), "{}", path.display());
        assert!(!e.body.is_empty(), "{}", path.display());
        assert!(!e.body.contains('\r'), "{}", path.display());
        count += 1;
    }
    assert!(count >= 14);
}

#[test]
fn plain_utf8() {
    let e = email("01-plain-utf8.eml");
    assert_eq!(sender(&e), ("giulia.bianchi@example.com", Some("Giulia Bianchi")));
    assert_eq!(e.to[0].address, "supporto@pagopa.it");
    assert_eq!(e.subject.as_deref(), Some("Richiesta informazioni su avviso pagoPA già pagato"));
    assert_eq!(e.date.unwrap().to_string(), "2026-03-10T09:14:07Z");
    assert_eq!(e.message_id.as_deref(), Some("CAG7p+Xk3q0Zt9Vb1mNq8sWf2rT6yU4iO0pL5aS3dF7gH9jK1lQ@mail.example.com"));
    assert!(e.body.contains("Perché non è stato aggiornato?"));
    assert!(e.body.contains("142,50 €"));
    assert_eq!(e.body_source, BodySource::Plain);
    assert!(e.attachments.is_empty());
    assert!(!looks_like_reminder(&e));
    assert_eq!(auto_reply_policy(&e, OURS), AutoReply::Allowed);
    assert!(!is_bounce(&e));
    let keys = thread_keys(&e);
    assert!(keys.message_ids.is_empty());
    assert_eq!(keys.reference_in_subject, None);
}

#[test]
fn multipart_alternative_prefers_the_plain_text() {
    let e = email("02-alternative-text-html.eml");
    assert_eq!(sender(&e), ("emily.carter@example.org", Some("Emily Carter")));
    assert_eq!(e.to[0].name.as_deref(), Some("Supporto pagoPA"));
    assert_eq!(e.content_type, "multipart/alternative");
    assert_eq!(e.body_source, BodySource::Plain);
    assert!(e.body.contains("I never received the payment\nreceipt by email"));
    assert!(!e.body.contains("<p"), "the HTML alternative is not used");
    assert!(e.attachments.is_empty(), "alternatives are not attachments");
    assert_eq!(auto_reply_policy(&e, OURS), AutoReply::Allowed);
}

#[test]
fn html_only_is_converted_to_text() {
    let e = email("03-html-only.eml");
    assert_eq!(sender(&e), ("tributi@comune.example.net", Some("Ufficio Tributi - Comune di Valdiponte")));
    assert_eq!(e.body_source, BodySource::Html);
    assert!(e.body.contains("il checkout restituisce l'errore PPT_STAZIONE_INT_PA_TIMEOUT"));
    assert!(e.body.contains("l’Ufficio Tributi"), "entities decoded");
    assert!(e.body.contains("Questo messaggio è stato inviato"));
    assert!(
        e.body.contains("(codice fiscale 00123450987)\nSegnalazioni ricevute: 37\n"),
        "list items on their own lines: {:?}",
        e.body
    );
    for absent in ["<", "font-family", "Segnalazione</title>"] {
        assert!(!e.body.contains(absent), "{absent:?} in {:?}", e.body);
    }
    assert!(e.attachments.is_empty());
}

#[test]
fn attachments_are_metadata_only() {
    let e = email("04-pdf-and-image.eml");
    assert_eq!(sender(&e).0, "marco.rossi@example.com");
    assert!(e.body.contains("mi è stato addebitato\ndue volte"));
    assert_eq!(e.body_source, BodySource::Plain);
    assert_eq!(e.attachments.len(), 2);
    let pdf = &e.attachments[0];
    // RFC 2231 `filename*=UTF-8''…` decoded.
    assert_eq!(pdf.filename.as_deref(), Some("ricevuta pagamento multa.pdf"));
    assert_eq!(pdf.content_type, "application/pdf");
    assert_eq!(pdf.size, 343, "decoded size, not the base64 size");
    assert!(!pdf.inline);
    let png = &e.attachments[1];
    assert_eq!(png.filename.as_deref(), Some("Screenshot_20260313_091502_IO.png"));
    assert_eq!(png.content_type, "image/png");
    assert_eq!(png.size, 73);
}

#[test]
fn iso_8859_1_quoted_printable_and_encoded_words() {
    let e = email("05-iso-8859-1-qp.eml");
    assert_eq!(sender(&e), ("nicolo.ferra@libero.example.net", Some("Nicolò Ferrà")));
    assert_eq!(
        e.subject.as_deref(),
        Some("Pagamento non riuscito: perchè la pagina si blocca? Non più di una volta, già tre!")
    );
    assert!(e.body.contains("sono Nicolò Ferrà."));
    assert!(e.body.contains("è già\nla terza volta"));
    assert!(e.body.contains("la scadenza è venerdì"));
    assert!(!e.body.contains('\u{FFFD}'), "no replacement characters");
}

#[test]
fn windows_1252_8bit() {
    let e = email("06-windows-1252.eml");
    assert_eq!(sender(&e), ("anna.luca@example.net", Some("Anna Lucà")));
    // 0x80 is € and 0x93/0x94/0x92 are curly quotes in windows-1252, not in ISO-8859-1.
    assert!(e.body.contains("di 87,40 € mentre"));
    assert!(e.body.contains("voce “quota fissa”"));
    assert!(e.body.contains("c’è la"));
    assert!(!e.body.contains('\u{FFFD}'));
    assert!(!looks_like_reminder(&e), "a polite closing is not a reminder");
}

#[test]
fn multi_byte_charsets_decode() {
    let raw = b"From: =?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?= <k@example.jp>\r\n\
        Subject: =?GB2312?B?xOO6w6OsuLa/7sqnsNw=?=\r\n\r\nx\r\n";
    let e = parse_inbound(raw).unwrap();
    assert_eq!(sender(&e).1, Some("こんにちは"));
    assert_eq!(e.subject.as_deref(), Some("你好，付款失败"));
}

#[test]
fn reply_threads_by_message_id_and_subject_reference() {
    let e = email("07-reply-threaded.eml");
    let keys = thread_keys(&e);
    assert_eq!(
        keys.message_ids,
        [
            "0102019a2c3d4e5f-8a7b6c5d-4e3f-2a1b-0c9d-8e7f6a5b4c3d-000000@sportello.pagopa.it",
            "0102019a1b2c3d4e-7f6a5b4c-3d2e-1f0a-9b8c-7d6e5f4a3b2c-000000@sportello.pagopa.it",
        ],
        "In-Reply-To first, then References newest first, without duplicates"
    );
    assert_eq!(keys.reference_in_subject, reference("SP-7K3Q9XWD"));
    assert_eq!(keys.normalized_subject, "La tua richiesta è stata presa in carico");
    assert!(e.body.contains("CRO 1234567890123"));
    // The quoted acknowledgement says "solleciti"; only the sender's own lines count.
    assert!(!looks_like_reminder(&e));
    assert_eq!(auto_reply_policy(&e, OURS), AutoReply::Allowed);
}

#[test]
fn italian_sollecito_is_a_reminder() {
    let e = email("08-sollecito.eml");
    assert_eq!(sender(&e).1, Some("Rosaria Esposito"));
    assert!(e.body.contains("230,00 euro è ancora addebitato"));
    assert!(looks_like_reminder(&e));
    let keys = thread_keys(&e);
    assert_eq!(keys.reference_in_subject, reference("SP-4M8R2TQC"));
    assert_eq!(keys.normalized_subject, "Richiesta rimborso pagamento doppio");
    assert_eq!(keys.message_ids.len(), 1);
    assert_eq!(auto_reply_policy(&e, OURS), AutoReply::Allowed);
}

#[test]
fn outlook_auto_reply_is_suppressed_and_not_a_reminder() {
    let e = email("09-outlook-auto-reply.eml");
    assert_eq!(
        auto_reply_policy(&e, OURS),
        AutoReply::Suppressed(SuppressReason::AutoSubmitted("auto-replied".into()))
    );
    assert_eq!(e.control.auto_response_suppress.as_deref(), Some("All"));
    assert!(e.body.contains("Sono fuori ufficio fino al 27 marzo"));
    assert!(!looks_like_reminder(&e), "\"follow up\" in an auto-reply is not a reminder");
    assert!(!is_bounce(&e));
    assert_eq!(thread_keys(&e).reference_in_subject, reference("SP-9Q2W4E6R"));

    // Without Auto-Submitted, X-Auto-Response-Suppress alone still suppresses.
    let mut e = e;
    e.control.auto_submitted = None;
    assert_eq!(auto_reply_policy(&e, OURS), AutoReply::Suppressed(SuppressReason::AutoResponseSuppress("All".into())));
}

#[test]
fn out_of_office_with_precedence_bulk() {
    let e = email("10-out-of-office-bulk.eml");
    assert_eq!(auto_reply_policy(&e, OURS), AutoReply::Suppressed(SuppressReason::Precedence("bulk".into())));
    assert!(!looks_like_reminder(&e));
    assert_eq!(thread_keys(&e).reference_in_subject, reference("SP-2H6J8K0M"));
    // Each autoresponder mark suppresses on its own.
    let mut e = e;
    e.control.precedence = None;
    assert_eq!(
        auto_reply_policy(&e, OURS),
        AutoReply::Suppressed(SuppressReason::AutoreplyHeader("X-Autoreply".into()))
    );
}

#[test]
fn mailing_list_is_suppressed() {
    let e = email("11-mailing-list.eml");
    assert_eq!(e.subject.as_deref(), Some("Novità di marzo: webinar sulla digitalizzazione dei Comuni"));
    assert_eq!(sender(&e).1, Some("Osservatorio PA Digitale"));
    assert_eq!(e.reply_to[0].address, "redazione@osservatorio.example.org");
    assert!(e.control.list_id.as_deref().unwrap().contains("list-id.mcsv"));
    assert_eq!(auto_reply_policy(&e, OURS), AutoReply::Suppressed(SuppressReason::MailingList));
    assert!(!looks_like_reminder(&e), "\"Novità\" outside a thread");
    assert!(!is_bounce(&e));
}

#[test]
fn postfix_dsn_is_a_bounce_with_the_original_message_id() {
    let e = email("12-dsn-bounce.eml");
    assert_eq!(e.content_type, "multipart/report");
    assert_eq!(e.control.return_path.as_deref(), Some(""), "null sender");
    let b = bounce(&e).expect("a bounce");
    assert_eq!(b.kind, BounceKind::Failed);
    assert_eq!(b.status.as_deref(), Some("5.1.1"));
    assert_eq!(
        b.original_message_id.as_deref(),
        Some("0102019a6f708193-cebfa091-8c7d-6e5f-4a3b-2c1d0e9f8a7b-000000@sportello.pagopa.it")
    );
    assert!(is_bounce(&e));
    assert_eq!(
        auto_reply_policy(&e, OURS),
        AutoReply::Suppressed(SuppressReason::DeliveryReport("delivery-status".into()))
    );
    assert!(!looks_like_reminder(&e));
    let report = e.report.as_ref().unwrap();
    assert_eq!(report.recipients.len(), 1);
    assert_eq!(report.recipients[0].action.as_deref(), Some("failed"));
}

#[test]
fn gmail_dsn_quoting_the_whole_message() {
    let e = email("13-dsn-mailbox-full.eml");
    let b = bounce(&e).expect("a bounce");
    assert_eq!(b.kind, BounceKind::Failed);
    assert_eq!(b.status.as_deref(), Some("5.2.2"));
    assert_eq!(
        b.original_message_id.as_deref(),
        Some("0102019a7f8091a4-dfc0b1a2-9d8e-7f6a-5b4c-3d2e1f0a9b8c-000000@sportello.pagopa.it")
    );
    assert!(e.body.starts_with("** Address not found **"));
    assert!(e.attachments.iter().any(|a| a.content_type == "message/rfc822"));
}

#[test]
fn mailer_daemon_without_a_report_is_still_a_bounce() {
    let raw = b"Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.example.net\r\nTo: bounces@sportello.pagopa.it\r\n\
        Subject: failure notice\r\nDate: Tue, 24 Mar 2026 11:05:17 +0100\r\n\r\n\
        Hi. This is the qmail-send program at mx.example.net.\r\n\
        I'm afraid I wasn't able to deliver your message to the following addresses.\r\n\r\n\
        --- Below this line is a copy of the message.\r\n\r\n\
        From: Supporto pagoPA <supporto@pagopa.it>\r\nMessage-ID: <ack-42@sportello.pagopa.it>\r\n";
    let e = parse_inbound(raw).unwrap();
    let b = bounce(&e).unwrap();
    assert_eq!(b.kind, BounceKind::Unknown);
    assert_eq!(b.original_message_id.as_deref(), Some("ack-42@sportello.pagopa.it"));
    assert_eq!(auto_reply_policy(&e, OURS), AutoReply::Suppressed(SuppressReason::NullSender));
}

#[test]
fn forwarded_payment_dunning_letter_is_not_a_reminder() {
    let e = email("14-forwarded.eml");
    let keys = thread_keys(&e);
    assert_eq!(keys.normalized_subject, "Avviso di pagamento TARI 2026 - sollecito di pagamento");
    assert!(keys.message_ids.is_empty());
    assert!(e.body.contains("-----Messaggio originale-----"));
    assert!(e.body.contains("risulta non pagato l'avviso 3020 0007 1122 3344 55"));
    // "sollecito di pagamento" is the creditor's letter, not a reminder to us.
    assert!(!looks_like_reminder(&e));
    assert_eq!(auto_reply_policy(&e, OURS), AutoReply::Allowed);
}

fn with_headers(extra: &str) -> InboundEmail {
    let raw = format!(
        "From: Mario Verdi <mario.verdi@example.com>\r\nTo: supporto@pagopa.it\r\n\
         Subject: Informazioni\r\nDate: Mon, 2 Mar 2026 10:00:00 +0100\r\n\
         Message-ID: <m1@mail.example.com>\r\n{extra}\r\nBuongiorno.\r\n"
    );
    parse_inbound(raw.as_bytes()).unwrap()
}

#[test]
fn rfc3834_and_loop_signals() {
    use SuppressReason as R;
    let suppressed = |extra: &str| match auto_reply_policy(&with_headers(extra), OURS) {
        AutoReply::Suppressed(r) => Some(r),
        AutoReply::Allowed => None,
    };
    assert_eq!(suppressed(""), None);
    assert_eq!(suppressed("Auto-Submitted: no\r\n"), None);
    assert_eq!(suppressed("Auto-Submitted: auto-generated\r\n"), Some(R::AutoSubmitted("auto-generated".into())));
    assert_eq!(suppressed("Precedence: junk\r\n"), Some(R::Precedence("junk".into())));
    assert_eq!(suppressed("Precedence: list\r\n"), Some(R::Precedence("list".into())));
    assert_eq!(suppressed("List-Unsubscribe: <mailto:u@lists.example.com>\r\n"), Some(R::MailingList));
    assert_eq!(
        suppressed("X-Auto-Response-Suppress: DR, OOF, AutoReply\r\n"),
        Some(R::AutoResponseSuppress("DR, OOF, AutoReply".into()))
    );
    // Only delivery/read receipts are refused: an acknowledgement is still welcome.
    assert_eq!(suppressed("X-Auto-Response-Suppress: DR, RN, NRN\r\n"), None);
    assert_eq!(suppressed("X-Autorespond: yes\r\n"), Some(R::AutoreplyHeader("X-Autorespond".into())));
    assert_eq!(suppressed("Return-Path: <>\r\n"), Some(R::NullSender));
    assert_eq!(suppressed("X-Loop: sportello.pagopa.it\r\n"), Some(R::Loop));

    let from = |addr: &str| {
        let raw = format!("From: {addr}\r\nSubject: x\r\nMessage-ID: <z@mail.example.com>\r\n\r\nciao\r\n");
        auto_reply_policy(&parse_inbound(raw.as_bytes()).unwrap(), OURS)
    };
    assert_eq!(from("postmaster@example.com"), AutoReply::Suppressed(R::SystemSender));
    assert_eq!(from("Notifiche <no-reply@notifiche.example.com>"), AutoReply::Suppressed(R::NoReplySender));
    assert_eq!(from("supporto@pagopa.it"), AutoReply::Suppressed(R::OwnDomain));
    assert_eq!(from("operatore@sportello.pagopa.it"), AutoReply::Suppressed(R::OwnDomain));
    assert_eq!(from("someone@notpagopa.it"), AutoReply::Allowed);

    let own_id =
        parse_inbound(b"From: forwarder@example.com\r\nMessage-ID: <0102abc@sportello.pagopa.it>\r\n\r\nx\r\n")
            .unwrap();
    assert_eq!(auto_reply_policy(&own_id, OURS), AutoReply::Suppressed(R::OwnMessageId));
    let no_from = parse_inbound(b"Subject: anonymous\r\n\r\nx\r\n").unwrap();
    assert_eq!(auto_reply_policy(&no_from, OURS), AutoReply::Suppressed(R::NoSender));
}

#[test]
fn reminder_heuristic() {
    let first = |subject: &str, body: &str| {
        let raw = format!("From: a@example.com\r\nSubject: {subject}\r\nMessage-ID: <r@example.com>\r\n\r\n{body}\r\n");
        looks_like_reminder(&parse_inbound(raw.as_bytes()).unwrap())
    };
    let reply = |subject: &str, body: &str| {
        let raw = format!(
            "From: a@example.com\r\nSubject: {subject}\r\nIn-Reply-To: <ack@sportello.pagopa.it>\r\n\r\n{body}\r\n"
        );
        looks_like_reminder(&parse_inbound(raw.as_bytes()).unwrap())
    };
    // Strong cues count on their own, even in a first message.
    assert!(first("SOLLECITO pratica SP-4M8R2TQC", "Buongiorno."));
    assert!(first("Richiesta", "Ho scritto il 3 marzo e ancora nessuna risposta."));
    assert!(first("Reminder: my request", "Hello."));
    assert!(first("Refund", "I am still   waiting for an answer\r\nto my email."));
    // Weak cues only inside a thread.
    assert!(!first("Aggiornamenti?", "Ci sono aggiornamenti?"));
    assert!(reply("Re: pratica", "Ci sono aggiornamenti?"));
    assert!(reply("Re: refund", "Any update on this?"));
    // Not reminders.
    assert!(!first("Pagamento", "In attesa di un vostro riscontro, cordiali saluti."));
    assert!(!first("Sollecito di pagamento", "Ho ricevuto un sollecito di pagamento già pagato."));
    assert!(!reply("Re: pratica", "Grazie, ecco il documento."));
}

#[test]
fn subject_normalisation() {
    for (subject, expected) in [
        ("Re: R: I: Fwd: Rif: Inoltra: AW: pagamento", "pagamento"),
        ("RE: [SP-7K3Q9XWD] Re: esito", "esito"),
        ("Re: Regione: tassa", "Regione: tassa"),
    ] {
        assert_eq!(normalize_subject(subject), expected);
    }
}

#[test]
fn sns_wrapped_ses_notification_is_unwrapped() {
    let json = String::from_utf8(raw("events/ses-sns-inbound.json")).unwrap();
    let (mime, verdicts) = parse_ses_sns_notification(&json).unwrap();
    // Base64 keeps the ISO-8859-1 bytes exactly as they arrived.
    assert_eq!(mime, raw("emails/05-iso-8859-1-qp.eml"));
    assert_eq!(
        verdicts,
        Verdicts {
            spam: VerdictStatus::Pass,
            virus: VerdictStatus::Pass,
            spf: VerdictStatus::Pass,
            dkim: VerdictStatus::Pass,
            dmarc: VerdictStatus::Pass,
            dmarc_policy: None,
        }
    );
    let decision = VerdictPolicy::default().decide(&verdicts);
    assert_eq!(decision.action, VerdictAction::Accept);
    assert!(decision.reasons.is_empty() && !decision.is_flagged());
    let e = parse_inbound(&mime).unwrap();
    assert_eq!(sender(&e).1, Some("Nicolò Ferrà"));

    // The same notification inside a Lambda SNS event, and as SES JSON (raw message delivery).
    let sns: serde_json::Value = serde_json::from_str(&json).unwrap();
    let lambda = serde_json::json!({"Records": [{"EventSource": "aws:sns", "Sns": sns}]});
    assert_eq!(parse_ses_sns_notification(&lambda.to_string()).unwrap().0, mime);
    let ses = sns["Message"].as_str().unwrap();
    assert_eq!(parse_ses_sns_notification(ses).unwrap().0, mime);
    assert_eq!(Verdicts::from_ses_json(ses).unwrap(), verdicts);
}

#[test]
fn virus_fail_is_rejected() {
    let json = String::from_utf8(raw("events/ses-sns-inbound-virus.json")).unwrap();
    let (mime, verdicts) = parse_ses_sns_notification(&json).unwrap();
    assert_eq!(verdicts.virus, VerdictStatus::Fail);
    let decision = VerdictPolicy::default().decide(&verdicts);
    assert_eq!(decision.action, VerdictAction::Reject);
    assert_eq!(decision.reasons.len(), 1);
    assert_eq!(decision.reasons[0].verdict, VerdictKind::Virus);
    // The message itself is intact; what to keep of it is the caller's call.
    assert_eq!(parse_inbound(&mime).unwrap().attachments.len(), 2);
}

#[test]
fn verdict_policy_decisions() {
    let policy = VerdictPolicy::default();
    let pass = Verdicts {
        spam: VerdictStatus::Pass,
        virus: VerdictStatus::Pass,
        spf: VerdictStatus::Pass,
        dkim: VerdictStatus::Pass,
        dmarc: VerdictStatus::Pass,
        dmarc_policy: None,
    };
    let decide = |v: Verdicts| policy.decide(&v);

    let spam = decide(Verdicts { spam: VerdictStatus::Fail, ..pass });
    assert_eq!(spam.action, VerdictAction::Quarantine);

    let spf_dkim = decide(Verdicts { spf: VerdictStatus::Fail, dkim: VerdictStatus::Fail, ..pass });
    assert_eq!(spf_dkim.action, VerdictAction::Accept);
    assert!(spf_dkim.is_flagged());
    assert_eq!(spf_dkim.reasons.len(), 2);

    let dmarc = |p| decide(Verdicts { dmarc: VerdictStatus::Fail, dmarc_policy: p, ..pass }).action;
    assert_eq!(dmarc(Some(DmarcPolicy::Reject)), VerdictAction::Reject);
    assert_eq!(dmarc(Some(DmarcPolicy::Quarantine)), VerdictAction::Quarantine);
    assert_eq!(dmarc(Some(DmarcPolicy::None)), VerdictAction::Accept);
    assert_eq!(dmarc(None), VerdictAction::Accept);

    let unscanned = decide(Verdicts { virus: VerdictStatus::ProcessingFailed, spam: VerdictStatus::Gray, ..pass });
    assert_eq!(unscanned.action, VerdictAction::Accept);
    assert_eq!(unscanned.reasons.len(), 1, "spam GRAY is no reason");

    // The rulebook embeds the policy as YAML or JSON; unknown keys are refused.
    let strict: VerdictPolicy = serde_json::from_str(r#"{"spf": "quarantine", "virus_unscanned": "reject"}"#).unwrap();
    assert_eq!(strict.decide(&Verdicts { spf: VerdictStatus::Fail, ..pass }).action, VerdictAction::Quarantine);
    assert_eq!(strict.spam, VerdictAction::Quarantine, "defaults kept");
    assert!(serde_json::from_str::<VerdictPolicy>(r#"{"virus": "ignore"}"#).is_err());
    assert!(serde_json::from_str::<VerdictPolicy>(r#"{"viruses": "reject"}"#).is_err());
}

#[test]
fn ses_content_encodings_and_bad_notifications() {
    let ses = |action: serde_json::Value, content: Option<&str>| {
        let mut v = serde_json::json!({
            "notificationType": "Received",
            "mail": {"messageId": "abc"},
            "receipt": {
                "spamVerdict": {"status": "PASS"}, "virusVerdict": {"status": "PASS"},
                "spfVerdict": {"status": "FAIL"}, "dkimVerdict": {"status": "GRAY"},
                "dmarcVerdict": {"status": "FAIL"}, "dmarcPolicy": "reject",
                "action": action
            }
        });
        if let Some(c) = content {
            v["content"] = c.into();
        }
        serde_json::json!({"Type": "Notification", "Message": v.to_string()}).to_string()
    };
    let mime = "From: a@example.com\r\nSubject: ciao\r\n\r\ntesto\r\n";
    let (raw, v) =
        parse_ses_sns_notification(&ses(serde_json::json!({"type": "SNS", "encoding": "UTF8"}), Some(mime))).unwrap();
    assert_eq!(raw, mime.as_bytes());
    assert_eq!(v.dkim, VerdictStatus::Gray);
    assert_eq!(v.dmarc_policy, Some(DmarcPolicy::Reject));
    assert_eq!(VerdictPolicy::default().decide(&v).action, VerdictAction::Reject);

    assert_eq!(
        parse_ses_sns_notification(&ses(
            serde_json::json!({"type": "S3", "bucketName": "inbound", "objectKey": "mail/abc"}),
            None
        )),
        Err(EmailError::ContentNotInline {
            action: "S3".into(),
            bucket: Some("inbound".into()),
            key: Some("mail/abc".into()),
        })
    );
    assert!(matches!(
        parse_ses_sns_notification(&ses(serde_json::json!({"type": "SNS", "encoding": "BASE64"}), Some("not*base64!"))),
        Err(EmailError::BadNotification(_))
    ));
    for bad in [
        "",
        "not json",
        "[]",
        r#"{"Type": "SubscriptionConfirmation", "SubscribeURL": "https://example.com"}"#,
        r#"{"Type": "Notification", "Message": "{\"notificationType\":\"Bounce\"}"}"#,
        r#"{"Type": "Notification", "Message": "not json"}"#,
        r#"{"Type": "Notification"}"#,
        r#"{"Records": [{"EventSource": "aws:sqs"}]}"#,
        r#"{"notificationType": "Received"}"#,
    ] {
        assert!(matches!(parse_ses_sns_notification(bad), Err(EmailError::BadNotification(_))), "{bad:?}");
    }
}

#[test]
fn bad_input_gives_typed_errors() {
    assert_eq!(parse_inbound(b""), Err(EmailError::Empty));
    assert_eq!(parse_inbound(b" \r\n\r\n"), Err(EmailError::Empty));

    let oversized = vec![b'a'; MAX_EMAIL_BYTES + 1];
    assert_eq!(
        parse_inbound(&oversized),
        Err(EmailError::TooLarge { size: MAX_EMAIL_BYTES + 1, limit: MAX_EMAIL_BYTES })
    );

    let garbage: Vec<u8> = (0u32..4096).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    assert!(matches!(parse_inbound(&garbage), Err(EmailError::NotAnEmail(_))));
    assert!(matches!(parse_inbound(b"just some words, no headers at all"), Err(EmailError::NotAnEmail(_))));
    assert!(matches!(parse_inbound(&raw("events/ses-sns-inbound.json")), Err(EmailError::NotAnEmail(_))));

    // Cut in the middle of the PDF attachment: the closing boundary never comes.
    let full = raw("emails/04-pdf-and-image.eml");
    let cut = &full[..full.len() * 2 / 3];
    assert_eq!(parse_inbound(cut), Err(EmailError::Truncated { boundary: "000000000000a1b2c3062d4e5f60".into() }));
}

#[test]
fn errors_name_no_personal_data() {
    let full = raw("emails/04-pdf-and-image.eml");
    let err = parse_inbound(&full[..1500]).unwrap_err().to_string();
    assert!(!err.contains("marco"), "{err}");
    assert!(!err.contains('@'), "{err}");
}

/// Every fixture cut at every length, with bytes flipped along the way: never a panic.
#[test]
fn truncated_and_mutated_fixtures_never_panic() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/emails");
    for entry in std::fs::read_dir(dir).unwrap() {
        let full = std::fs::read(entry.unwrap().path()).unwrap();
        for end in (0..full.len()).step_by(7) {
            exercise(&full[..end]);
        }
        let mut mutated = full.clone();
        for i in (0..mutated.len()).step_by(13) {
            mutated[i] = mutated[i].wrapping_mul(31).wrapping_add(i as u8);
            exercise(&mutated);
        }
    }
}

/// Runs the whole module over one input; only panics matter here.
fn exercise(raw: &[u8]) {
    if let Ok(e) = parse_inbound(raw) {
        let _ = thread_keys(&e);
        let _ = looks_like_reminder(&e);
        let _ = auto_reply_policy(&e, OURS);
        let _ = bounce(&e);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        exercise(&bytes);
    }

    #[test]
    fn mime_shaped_input_never_panics(
        headers in proptest::collection::vec(
            ("(From|To|Subject|Content-Type|Content-Transfer-Encoding|In-Reply-To|References|Return-Path|Auto-Submitted)",
             "[ -~]{0,60}"),
            0..8),
        body in "(\\PC|\r\n|--b|=[0-9A-F]{2}|=\\?[a-z0-9-]{0,10}\\?[QBqb]\\?[ -~]{0,20}\\?=){0,60}",
    ) {
        let mut raw = String::new();
        for (name, value) in &headers {
            raw.push_str(&format!("{name}: {value}\r\n"));
        }
        raw.push_str("Content-Type: multipart/mixed; boundary=b\r\n\r\n");
        raw.push_str(&body);
        exercise(raw.as_bytes());
    }

    #[test]
    fn arbitrary_notifications_never_panic(s in "\\PC{0,300}") {
        let _ = parse_ses_sns_notification(&s);
        let _ = Verdicts::from_ses_json(&s);
    }

    #[test]
    fn subjects_never_panic(s in "\\PC{0,120}") {
        let _ = normalize_subject(&s);
        let _ = TicketReference::find_in(&s);
    }
}
