//! Every text of the console, in Italian (the default) and English: one catalogue. Each entry
//! becomes a method of [`Tr`], so a template that names a missing text does not compile. Texts
//! with `{name}` placeholders are filled with [`fill`].
//!
//! Names from the rulebook (categories, channels, teams, targets, custom fields) come from the
//! rulebook in the same language; the engine's refusals are shown as the engine words them
//! (English), under a title from here.

use crate::domain::{TicketState, TicketType};
use crate::engine::{Engine, SlaState};
use jiff::SignedDuration;

/// The languages of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    It,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::It => "it",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim() {
            "it" => Some(Lang::It),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::It => Lang::En,
            Lang::En => Lang::It,
        }
    }
}

/// The catalogue in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tr {
    pub lang: Lang,
}

macro_rules! catalogue {
    ($($key:ident: $it:expr, $en:expr;)*) => {
        impl Tr {
            $(
                pub fn $key(&self) -> &'static str {
                    match self.lang {
                        Lang::It => $it,
                        Lang::En => $en,
                    }
                }
            )*
        }

        /// Every entry: (key, Italian, English). The tests check that none is empty and that
        /// both languages have the same placeholders.
        pub const CATALOGUE: &[(&str, &str, &str)] = &[$((stringify!($key), $it, $en)),*];
    };
}

/// Replaces `{name}` placeholders.
pub fn fill(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

catalogue! {
    // The frame of every page.
    app_name: "Sportello", "Sportello";
    app_subtitle: "Scrivania degli operatori · PagoPA", "Operators' desk · PagoPA";
    skip_to_content: "Vai al contenuto principale", "Skip to main content";
    nav_label: "Navigazione principale", "Main navigation";
    nav_queue: "Coda", "Queue";
    nav_search: "Cerca", "Search";
    nav_incidents: "Incidenti", "Incidents";
    nav_reports: "Report", "Reports";
    switch_language: "English", "Italiano";
    switch_language_label: "Read the console in English", "Leggi la console in italiano";
    signed_in_as: "Collegato come {id}", "Signed in as {id}";
    sign_out: "Esci", "Sign out";
    roles_label: "Ruoli", "Roles";
    role_operator: "operatore", "operator";
    role_privacy_operator: "team privacy", "privacy team";
    role_supervisor: "supervisore", "supervisor";
    role_admin: "amministratore", "admin";

    // Sign-in.
    sign_in_title: "Accedi alla scrivania", "Sign in to the desk";
    sign_in_intro: "Incolla il token di operatore che ti ha dato l'amministratore (sportello operators add).", "Paste the operator token your admin gave you (sportello operators add).";
    token_label: "Token di operatore", "Operator token";
    token_hint: "Inizia con spo_. Non viene salvato nel browser: serve solo ad aprire la sessione.", "It starts with spo_. It is not kept in the browser: it only opens the session.";
    sign_in_button: "Accedi", "Sign in";
    sign_in_oidc: "Accedi con l'account aziendale", "Sign in with your organisation's account";
    sign_in_oidc_intro: "L'accesso passa dal fornitore di identità dell'organizzazione.", "Sign-in goes through your organisation's identity provider.";
    sign_in_failed: "Accesso non riuscito", "Sign-in failed";
    token_unknown: "Token sconosciuto o revocato. Controlla di averlo copiato per intero, o chiedine uno nuovo.", "Unknown or revoked token. Check you copied all of it, or ask for a new one.";
    token_missing: "Scrivi il token di operatore.", "Write your operator token.";
    signed_out: "Sei uscito. A presto!", "You are signed out. See you soon!";
    session_expired: "La sessione è scaduta: accedi di nuovo.", "Your session has ended: sign in again.";
    no_operator_role: "Il tuo account non ha un ruolo di operatore, supervisore o team privacy.", "Your account has no operator, supervisor or privacy-team role.";
    oidc_failed: "Il fornitore di identità non ha confermato l'accesso: riprova.", "The identity provider did not confirm the sign-in: try again.";

    // Errors.
    error_title: "Qualcosa non va", "Something is wrong";
    not_found_title: "Pagina non trovata", "Page not found";
    not_found_text: "Questa pagina non esiste, o non puoi vederla.", "This page does not exist, or you may not see it.";
    forbidden_title: "Non consentito", "Not allowed";
    csrf_failed: "Il modulo è scaduto o non viene da questa pagina. Ricarica la pagina e riprova.", "The form has expired or does not come from this page. Reload the page and try again.";
    refused_conflict: "Il flusso non consente questa azione ora", "The flow does not allow this now";
    refused_invalid: "Controlla i dati", "Check what you entered";
    refused_forbidden: "Il tuo ruolo non consente questa azione", "Your role does not allow this";
    refused_unavailable: "Il servizio non risponde: riprova tra poco", "The service does not answer: retry shortly";
    refused_not_found: "Non trovato", "Not found";
    engine_says: "Motivo:", "Reason:";
    back_to_queue: "Torna alla coda", "Back to the queue";

    // The queue.
    queue_title: "Coda di lavoro", "Work queue";
    queue_all_teams: "Tutti i team", "Every team";
    queue_filters: "Filtri", "Filters";
    filter_team: "Team", "Team";
    filter_channel: "Canale", "Channel";
    filter_type: "Tipo", "Type";
    filter_state: "Stato", "State";
    filter_who: "Assegnatario", "Assignee";
    filter_any: "Tutti", "All";
    filter_mine: "I miei", "Mine";
    filter_unassigned: "Non assegnati", "Unassigned";
    filter_untyped: "Da classificare", "Not yet typed";
    filter_apply: "Applica i filtri", "Apply filters";
    filter_reset: "Azzera", "Clear";
    queue_caption: "Ticket aperti, dalla scadenza più vicina", "Open tickets, nearest deadline first";
    col_reference: "Riferimento", "Reference";
    col_channel: "Canale", "Channel";
    col_category: "Categoria", "Category";
    col_type: "Tipo", "Type";
    col_state: "Stato", "State";
    col_age: "Età", "Age";
    col_sla: "SLA", "SLA";
    col_assignee: "Assegnatario", "Assignee";
    col_team: "Team", "Team";
    col_created: "Aperto il", "Opened";
    nobody: "nessuno", "nobody";
    you: "tu", "you";
    queue_empty: "Nessun ticket aperto con questi filtri.", "No open ticket with these filters.";
    queue_range: "Ticket {from}–{to} di {total}", "Tickets {from}–{to} of {total}";
    queue_range_open: "Ticket {from}–{to}", "Tickets {from}–{to}";
    queue_updated: "Aggiornata alle {time}", "Updated at {time}";
    queue_live: "La coda si aggiorna da sola ogni 10 secondi.", "The queue updates itself every 10 seconds.";
    page_first: "Prima pagina", "First page";
    page_previous: "Precedenti", "Previous";
    page_next: "Successivi", "Next";
    pagination: "Pagine della coda", "Queue pages";
    sla_on_time: "in tempo", "on time";
    sla_warning: "in scadenza", "due soon";
    sla_breached: "scaduto", "breached";
    sla_met: "rispettato", "met";
    sla_none: "—", "—";

    // States and types.
    state_new: "nuovo", "new";
    state_taken_in_charge: "preso in carico", "taken in charge";
    state_in_progress: "in lavorazione", "in progress";
    state_awaiting_resolution_notice: "in attesa di riscontro", "awaiting notice";
    state_resolved: "risolto", "resolved";
    state_closed: "chiuso", "closed";
    state_auto_resolved: "risolto dal bot", "resolved by the bot";
    state_auto_closed: "chiuso in automatico", "closed automatically";
    state_not_served: "non servito", "not served";
    type_b: "B · Bot", "B · Bot";
    type_q: "Q · Domanda", "Q · Question";
    type_a: "A · Attività", "A · Activity";
    type_i: "I · Segnalazione", "I · Issue";
    type_pq: "PQ · Privacy, domanda", "PQ · Privacy question";
    type_pa: "PA · Privacy, attività", "PA · Privacy activity";
    type_pi: "PI · Privacy, violazione", "PI · Privacy issue";
    no_type: "—", "—";

    // The ticket page.
    ticket_title: "Ticket {reference}", "Ticket {reference}";
    ticket_summary: "Riepilogo", "Summary";
    field_state: "Stato", "State";
    field_type: "Tipo", "Type";
    field_category: "Categoria", "Category";
    field_channel: "Canale", "Channel";
    field_team: "Team", "Team";
    field_assignee: "Assegnatario", "Assignee";
    field_opened: "Aperto", "Opened";
    field_subject: "Oggetto", "Subject";
    field_related: "Sollecita il ticket", "Chases ticket";
    requester_title: "Richiedente", "Requester";
    requester_name: "Nome", "Name";
    requester_email: "E-mail", "E-mail";
    requester_phone: "Telefono", "Phone";
    requester_fiscal_code: "Codice fiscale", "Fiscal code";
    requester_none: "Nessun dato del richiedente.", "No requester data.";
    requester_restricted: "Dati riservati al team privacy.", "Reserved to the privacy team.";
    requester_masked: "Dati in parte nascosti: chi supervisiona non contatta i richiedenti.", "Partly hidden: supervisors do not contact requesters.";
    custom_fields_title: "Dati dell'app", "App data";
    deadlines_title: "Scadenze", "Deadlines";
    deadlines_none: "Nessuna scadenza su questo ticket.", "No deadline on this ticket.";
    deadline_first_response: "Prima risposta", "First response";
    deadline_resolution: "Risoluzione", "Resolution";
    deadline_gdpr_data_subject_request: "Richiesta GDPR (un mese)", "GDPR request (one month)";
    deadline_gdpr_breach_notification: "Notifica di violazione (72 ore)", "Breach notification (72 hours)";
    deadline_due: "entro {due}", "by {due}";
    left_business: "mancano {left} lavorative", "{left} of business time left";
    left_calendar: "mancano {left}", "{left} left";
    overdue_business: "scaduta da {left} lavorative", "overdue by {left} of business time";
    overdue_calendar: "scaduta da {left}", "overdue by {left}";
    escalations_title: "Inoltri", "Escalations";
    escalation_sent: "Inviato a {target} il {at}", "Sent to {target} on {at}";
    escalation_waiting: "in attesa del riscontro", "awaiting the notice";
    escalation_notice: "Riscontro del {at}:", "Notice of {at}:";
    conversation_title: "Conversazione", "Conversation";
    conversation_empty: "Nessun messaggio.", "No message.";
    from_requester: "Richiedente", "Requester";
    from_user: "Utente", "User";
    from_bot: "Assistente virtuale", "Virtual assistant";
    from_operator: "Operatore {id}", "Operator {id}";
    from_system: "Sportello", "Sportello";
    attachments: "Allegati", "Attachments";
    voice_note: "Nota della chiamata", "Call note";
    callback_number: "Numero da richiamare", "Call-back number";
    ivr_choice: "Scelta nel menu IVR", "IVR menu choice";
    timeline_title: "Storico", "Timeline";
    path_title: "Percorso del regolamento", "Rulebook path";
    path_intro: "Il percorso che il regolamento dà a questo contatto; il passo attuale è evidenziato.", "The path the rulebook gives this contact; the current step is highlighted.";
    path_none: "Il ticket non ha ancora una categoria: il percorso appare dopo lo smistamento.", "The ticket has no category yet: the path appears after triage.";
    path_done: "fatto", "done";
    path_current: "passo attuale", "current step";
    path_ahead: "da fare", "to do";
    path_not_taken: "non percorso", "not taken";
    path_if: "Se", "If";
    path_yes: "sì", "yes";
    path_no: "no", "no";
    fact_operator_can_solve: "l'operatore può risolvere da solo", "the operator can solve it alone";
    fact_incident_active: "c'è un incidente attivo sul servizio", "an incident is active on the service";
    fact_in_service_hours: "siamo in orario di servizio", "it is within service hours";
    fact_bot_resolved: "il bot ha risolto", "the bot solved it";
    fact_privacy_request: "è una richiesta privacy", "it is a privacy request";
    expected_next: "Il flusso attende", "The flow expects";

    // Actions.
    actions_title: "Azioni", "Actions";
    actions_none: "Nessuna azione da fare ora su questo ticket.", "Nothing to do on this ticket now.";
    action_take: "Prendi in carico", "Take in charge";
    action_take_type: "Tipo (facoltativo)", "Type (optional)";
    action_take_type_help: "Se lo sai già, scegli il tipo: il ticket è preso in carico e classificato insieme.", "If you already know it, choose the type: the ticket is taken in charge and classified at once.";
    action_take_type_later: "Lo decido dopo", "Decide later";
    action_categorize: "Cambia categoria", "Change category";
    action_categorize_help: "Conferma o correggi la categoria prima di classificare.", "Confirm or correct the category before classifying.";
    action_categorize_button: "Salva la categoria", "Save the category";
    action_classify: "Classifica", "Classify";
    action_classify_help: "Il regolamento consente solo questi tipi per questo contatto.", "The rulebook allows only these types for this contact.";
    action_classify_button: "Salva il tipo", "Save the type";
    action_check_incidents: "Verifica gli incidenti", "Check incidents";
    action_check_incidents_help: "Con un incidente attivo sul servizio il ticket diventa Q con le informazioni di ripristino; altrimenti diventa I e va all'incident management.", "With an active incident on the service the ticket becomes Q with the restoration information; otherwise it becomes I and goes to incident management.";
    service_label: "Servizio", "Service";
    action_check_button: "Verifica", "Check";
    action_reminder: "Cerca il ticket sollecitato", "Look up the chased ticket";
    action_reminder_help: "Trova il ticket a cui si riferisce il sollecito e ne annota il sollecito.", "Finds the ticket this reminder is about and records the reminder on it.";
    action_reminder_button: "Cerca", "Look up";
    reminder_found: "Il sollecito riguarda {reference}: {state}.", "The reminder is about {reference}: {state}.";
    reminder_found_by_reference: "Trovato dal riferimento citato.", "Found by the quoted reference.";
    reminder_found_by_requester: "Trovato dai dati del richiedente.", "Found by the requester's data.";
    open_chased_ticket: "Apri {reference}", "Open {reference}";
    action_suggestions: "Risposte dalla base di conoscenza", "Knowledge-base answers";
    suggestions_search: "Cerca nella base di conoscenza", "Search the knowledge base";
    suggestions_button: "Cerca articoli", "Find articles";
    suggestions_none: "Nessun articolo adatto: cerca con parole tue.", "No matching article: search with your own words.";
    use_in_answer: "Usa nella risposta", "Use in answer";
    action_resolve: "Rispondi e risolvi", "Answer and resolve";
    answer_label: "Risposta al richiedente", "Answer to the requester";
    answer_help: "Arriva al richiedente sul suo canale: e-mail, chat, app, o nota per la richiamata.", "It reaches the requester on their channel: e-mail, chat, app, or a call-back note.";
    resolve_button: "Invia la risposta e risolvi", "Send the answer and resolve";
    action_escalate: "Inoltra", "Escalate";
    action_escalate_help: "Scegli a chi inoltrare: sotto ogni destinatario vedi esattamente cosa riceverà.", "Choose where to send it: under each target you see exactly what it will receive.";
    escalate_target: "Destinatario", "Target";
    summary_label: "Riepilogo per il destinatario", "Summary for the target";
    summary_placeholder: "(il tuo riepilogo)", "(your summary)";
    preview_button: "Aggiorna l'anteprima", "Update the preview";
    escalate_button: "Inoltra", "Escalate";
    preview_title: "Cosa riceverà {target}", "What {target} will receive";
    preview_by_queue: "Messaggio sulla coda {queue}", "Message on queue {queue}";
    preview_by_mail: "E-mail a {to}", "E-mail to {to}";
    preview_subject: "Oggetto", "Subject";
    preview_fields: "Dati inclusi", "Data included";
    preview_withheld_not_listed: "Non riceve (dati che il regolamento non prevede per questo destinatario)", "Does not receive (data the rulebook does not list for this target)";
    preview_withheld_free_text: "Non riceve (testo libero del richiedente: il destinatario non è autorizzato)", "Does not receive (the requester's free text: this target is not cleared for it)";
    preview_fields_none: "Nessun dato del ticket oltre al riferimento e al riepilogo.", "No ticket data beyond the reference and the summary.";
    preview_note: "Identificativi, orari e codice di risposta sono assegnati all'invio.", "Ids, times and the reply token are set when it is sent.";
    action_close_contact: "Chiudi il contatto", "End the contact";
    action_close_contact_help: "Termina la chiamata o la chat: il ticket prosegue in modo asincrono.", "Ends the call or chat: the ticket continues asynchronously.";
    action_note: "Nota interna", "Internal note";
    note_label: "Nota per il team", "Note for the team";
    note_button: "Aggiungi la nota", "Add the note";
    chat_title: "Chat dal vivo", "Live chat";
    chat_label: "Messaggio all'utente", "Message to the user";
    chat_send: "Invia", "Send";
    chat_help: "L'utente lo legge nell'app al prossimo aggiornamento.", "The user reads it in the app at its next poll.";
    chat_live: "I messaggi dell'utente compaiono qui senza ricaricare.", "The user's messages appear here without reloading.";
    done_take: "Ticket preso in carico.", "Ticket taken in charge.";
    done_take_classify: "Ticket preso in carico e classificato.", "Ticket taken in charge and classified.";
    done_categorize: "Categoria salvata.", "Category saved.";
    done_classify: "Tipo salvato.", "Type saved.";
    done_note: "Nota aggiunta.", "Note added.";
    done_close_contact: "Contatto chiuso: il ticket prosegue in modo asincrono.", "Contact ended: the ticket continues asynchronously.";
    done_escalate: "Inoltrato a {target}.", "Escalated to {target}.";
    done_resolve: "Risposta inviata, ticket risolto.", "Answer sent, ticket resolved.";
    done_chat: "Messaggio inviato.", "Message sent.";
    done_check_active: "Incidente attivo: {title}. Informazioni di ripristino: {info}", "Active incident: {title}. Restoration information: {info}";
    done_check_none: "Nessun incidente attivo: ticket classificato I e inoltrato all'incident management.", "No active incident: ticket typed I and escalated to incident management.";
    done_reassign: "Ticket riassegnato a {id}.", "Ticket reassigned to {id}.";
    done_reassign_queue: "Ticket rimesso nella coda del team.", "Ticket put back in its team's queue.";

    // Search.
    search_title: "Cerca un ticket", "Find a ticket";
    search_label: "Riferimento, codice avviso (NAV), e-mail, telefono o codice fiscale", "Reference, notice code (NAV), e-mail, phone or fiscal code";
    search_by: "Cerca per", "Search by";
    search_by_auto: "Riconosci da solo", "Work it out";
    search_by_reference: "Riferimento", "Reference";
    search_by_notice_code: "Codice avviso (NAV)", "Notice code (NAV)";
    search_by_email: "E-mail del richiedente", "Requester's e-mail";
    search_by_phone: "Telefono del richiedente", "Requester's phone";
    search_by_fiscal_code: "Codice fiscale del richiedente", "Requester's fiscal code";
    search_button: "Cerca", "Search";
    search_results: "Risultati per {by}", "Results by {by}";
    search_none: "Nessun ticket trovato.", "No ticket found.";

    // Incidents.
    incidents_title: "Incidenti sui servizi", "Incidents on the services";
    incidents_declare: "Dichiara un incidente", "Declare an incident";
    incident_service: "Servizio", "Service";
    incident_service_help: "L'identificativo del servizio: pagopa, io, send…", "The service id: pagopa, io, send…";
    incident_title_label: "Titolo", "Title";
    incident_restoration: "Informazioni di ripristino per i cittadini", "Restoration information for citizens";
    incident_declare_button: "Dichiara", "Declare";
    incidents_active: "Incidenti attivi", "Active incidents";
    incidents_resolved: "Incidenti risolti", "Resolved incidents";
    incidents_none_active: "Nessun incidente attivo.", "No active incident.";
    incidents_none_resolved: "Nessun incidente risolto di recente.", "No recently resolved incident.";
    incident_declared: "Dichiarato da {by} il {at}", "Declared by {by} on {at}";
    incident_linked: "Ticket collegati: {count}", "Linked tickets: {count}";
    incident_update: "Aggiorna", "Update";
    incident_update_button: "Salva le modifiche", "Save the changes";
    incident_resolve: "Risolvi l'incidente", "Resolve the incident";
    incident_closing: "Testo di chiusura per i ticket collegati", "Closing text for the linked tickets";
    incident_resolve_button: "Risolvi e avvisa i ticket collegati", "Resolve and notify the linked tickets";
    incident_fanout: "Avvisi inviati: {done} di {total}", "Notices sent: {done} of {total}";
    incident_fanout_done: "Tutti i ticket collegati sono stati avvisati.", "Every linked ticket has been notified.";
    incident_resolved_at: "Risolto il {at}", "Resolved on {at}";
    done_declare: "Incidente dichiarato.", "Incident declared.";
    done_update_incident: "Incidente aggiornato.", "Incident updated.";
    done_resolve_incident: "Incidente risolto: i ticket collegati vengono avvisati.", "Incident resolved: the linked tickets are being notified.";
    supervisors_only: "Solo i supervisori dichiarano, aggiornano e risolvono gli incidenti.", "Only supervisors declare, update and resolve incidents.";

    // Supervisors.
    action_reassign: "Riassegna", "Reassign";
    reassign_help: "Passa il ticket a un altro operatore, o lascia vuoto per rimetterlo nella coda del team. Resta nello storico con il motivo.", "Hands the ticket to another operator, or leave it empty to put it back in its team's queue. Kept in the timeline with the reason.";
    reassign_to: "Nuovo assegnatario (id operatore)", "New assignee (operator id)";
    reassign_reason: "Motivo", "Reason";
    reassign_button: "Riassegna il ticket", "Reassign the ticket";

    // The privacy team's erasure door (GDPR art. 17).
    nav_erasure: "Cancellazione dati", "Data erasure";
    team_awaiting_triage: "In smistamento", "Awaiting triage";
    erasure_title: "Cancellazione dei dati di un richiedente", "Erasing a requester's data";
    erasure_intro: "Art. 17 GDPR. Prima l'anteprima di cosa verrà cancellato; poi la conferma. Finché una segnalazione di violazione del richiedente è aperta, i suoi dati si conservano.", "GDPR art. 17. First a preview of what will be erased; then the confirmation. While one of the requester's breach reports is open, their data is kept.";
    erasure_by: "Trova il richiedente per", "Find the requester by";
    erasure_value: "Valore", "Value";
    erasure_preview_button: "Mostra cosa verrà cancellato", "Show what will be erased";
    erasure_preview_title: "Verranno cancellati", "Will be erased";
    erasure_none: "Nessun ticket di questo richiedente.", "No ticket of this requester.";
    erasure_copies: "Con essi: {copies}.", "With them: {copies}.";
    erasure_copy_events: "{n} voci di storico", "{n} timeline entries";
    erasure_copy_outbox: "{n} e-mail inviate", "{n} mails sent";
    erasure_copy_queued_messages: "{n} messaggi in coda", "{n} queued messages";
    erasure_copy_dead_letters: "{n} messaggi non consegnati", "{n} undelivered messages";
    erasure_copy_events_one: "1 voce di storico", "1 timeline entry";
    erasure_copy_outbox_one: "1 e-mail inviata", "1 mail sent";
    erasure_copy_queued_messages_one: "1 messaggio in coda", "1 queued message";
    erasure_copy_dead_letters_one: "1 messaggio non consegnato", "1 undelivered message";
    erasure_found_title: "Dati di questo richiedente", "This requester's data";
    erasure_hold: "Cancellazione sospesa per obbligo di legge", "Erasure held by a legal obligation";
    erasure_hold_text: "Una segnalazione di violazione di questo richiedente è ancora aperta: i suoi dati si conservano finché non è chiusa (GDPR art. 33(5) e art. 17(3)(e)). Ripeti la cancellazione dopo averla risolta.", "A breach report of this requester is still open: their data is kept until it is closed (GDPR art. 33(5) and art. 17(3)(e)). Erase again once it is resolved.";
    erasure_hold_tickets: "Segnalazioni aperte:", "Open reports:";
    erasure_confirm_hint: "Nomi, indirizzi, numeri, codici fiscali e testi dei messaggi spariscono da questi ticket; restano riferimenti, stati e date, e nello storico chi ha cancellato e quando. Non si può annullare.", "Names, addresses, numbers, fiscal codes and message texts go from these tickets; references, states and dates stay, and the timeline records who erased and when. It cannot be undone.";
    erasure_confirm_button: "Cancella definitivamente questi dati", "Erase this data for good";
    erasure_done: "Dati cancellati da {n} ticket: {references}.", "Data erased from {n} tickets: {references}.";

    // The timeline's events.
    event_created: "Aperto", "Opened";
    event_triaged: "Smistato dal regolamento", "Triaged by the rulebook";
    event_taken_in_charge: "Preso in carico", "Taken in charge";
    event_classified: "Classificato", "Classified";
    event_categorized: "Categoria cambiata", "Category changed";
    event_routed_to_team: "Passato a un altro team", "Handed to another team";
    event_note: "Nota", "Note";
    event_message: "Messaggio", "Message";
    event_contact_closed: "Contatto chiuso", "Contact ended";
    event_escalated: "Inoltrato", "Escalated";
    event_notice_received: "Riscontro ricevuto", "Notice received";
    event_answered: "Risposta inviata", "Answer sent";
    event_resolved: "Risolto", "Resolved";
    event_closed: "Chiuso", "Closed";
    event_reopened: "Riaperto", "Reopened";
    event_auto_resolved: "Risolto dal bot", "Resolved by the bot";
    event_auto_closed: "Chiuso in automatico", "Closed automatically";
    event_not_served: "Non servito", "Not served";
    event_reminder: "Sollecitato", "Chased";
    event_deadline_warning: "Scadenza vicina", "Deadline near";
    event_deadline_breached: "Scadenza superata", "Deadline breached";
    event_escalation_reminded: "Destinatario sollecitato", "Target reminded";
    event_requester_erased: "Dati del richiedente cancellati", "Requester data erased";
    event_delivery_failed: "Consegna non riuscita", "Delivery failed";
    event_reassigned: "Riassegnato", "Reassigned";
    event_answer_undelivered: "Risposta non consegnata", "Answer not delivered";
    answer_sent: "Risposta al richiedente", "Answer to the requester";
    queue_page_count: "{n} ticket in questa pagina, {total} in coda", "{n} tickets on this page, {total} in the queue";

    // The supervisors' reports dashboard.
    rep_title: "Report: {period}", "Reports: {period}";
    rep_title_tickets: "Ticket dietro a «{figure}»", "Tickets behind “{figure}”";
    rep_period_day: "{date}", "{date}";
    rep_period_week: "settimana dal {from} al {to}", "week of {from} to {to}";
    rep_period_month: "{month} {year}", "{month} {year}";
    rep_period_custom: "dal {from} al {to}", "{from} to {to}";
    rep_intro: "Dal {from} al {to}, ora di {zone}. Ogni dato è contato nel giorno in cui è avvenuto; i tempi contano le sole ore di servizio, come mediana e 90° percentile. Ogni numero sottolineato e ogni barra aprono l'elenco dei ticket che lo compongono.", "{from} to {to}, {zone} time. Figures are counted on the day they happened; times count service hours only, as the median and the 90th percentile. Every underlined number and every bar opens the list of tickets behind it.";
    rep_period_form: "Periodo", "Period";
    rep_period_label: "Periodo", "Period";
    rep_day: "giorno", "day";
    rep_week: "settimana", "week";
    rep_month: "mese", "month";
    rep_around: "Che comprende il", "That includes";
    rep_show: "Mostra", "Show";
    rep_previous: "Periodo precedente: {period}", "Previous period: {period}";
    rep_next: "Periodo successivo: {period}", "Next period: {period}";
    rep_periods_nav: "Periodi vicini", "Nearby periods";
    rep_at_a_glance: "In sintesi", "At a glance";
    tile_contacts: "Contatti ricevuti", "Contacts received";
    tile_out_of_hours: "Fuori orario di servizio", "Out of service hours";
    tile_resolved: "Risolti dagli operatori", "Resolved by operators";
    tile_auto_resolved: "Risolti dal bot", "Solved by the bot";
    tile_containment: "Contenimento (quota del bot)", "Containment (bot share)";
    tile_first_contact: "Risolti al primo contatto", "First-contact resolution";
    tile_first_response: "Prima risposta (mediana / 90°)", "First response (median / 90th)";
    tile_resolution: "Risoluzione (mediana / 90°)", "Resolution (median / 90th)";
    tile_escalations: "Inoltri inviati", "Escalations sent";
    tile_reminders: "Solleciti ricevuti", "Reminders received";
    tile_bot_solved: "Chat risolte dal bot", "Chats the bot solved";
    tile_bot_handed_off: "Chat passate a un operatore", "Chats handed to an operator";
    tile_csat: "Soddisfazione (voti 4–5 su 5)", "Satisfaction (ratings 4–5 of 5)";
    tile_surveys: "Risposte ai questionari", "Survey responses";
    rep_of: "{part} su {whole}", "{part} of {whole}";
    rep_of_share: "{part} su {whole} ({share})", "{part} of {whole} ({share})";
    rep_none: "–", "–";
    rep_no_data: "Nessun dato in questo periodo.", "No data in this period.";
    chart_per_day: "Contatti ricevuti al giorno", "Contacts received per day";
    chart_per_day_desc: "{total} contatti in {days} giorni; il giorno con più contatti è stato il {busiest}, con {most}.", "{total} contacts over {days} days; the busiest day was {busiest} with {most}.";
    chart_per_day_empty: "Nessun contatto in questo periodo.", "No contacts in this period.";
    chart_contacts: "{n} contatti", "{n} contacts";
    chart_contact_one: "1 contatto", "1 contact";
    chart_sla_first_response: "Prima risposta: SLA rispettato, per tipo", "First response: SLA met, by type";
    chart_sla_resolution: "Risoluzione: SLA rispettato, per tipo", "Resolution: SLA met, by type";
    chart_sla_first_response_desc: "Quota delle scadenze di prima risposta rispettate, per tipo di ticket; ogni barra apre i ticket in ritardo.", "Share of first-response deadlines met, by ticket type; each bar opens the late tickets.";
    chart_sla_resolution_desc: "Quota delle scadenze di risoluzione rispettate, per tipo di ticket; ogni barra apre i ticket in ritardo.", "Share of resolution deadlines met, by ticket type; each bar opens the late tickets.";
    chart_sla_bar: "{share} ({late} in ritardo)", "{share} ({late} late)";
    chart_handoff: "Perché le chat hanno lasciato il bot: {left} su {total} conversazioni", "Why chats left the bot: {left} of {total} conversations";
    chart_handoff_title: "Perché le chat hanno lasciato il bot", "Why chats left the bot";
    chart_handoff_desc: "Conversazioni che il bot non ha risolto ({handed} passate a un operatore, {closed} chiuse fuori orario), per motivo.", "Conversations the bot did not solve ({handed} handed to an operator, {closed} closed out of hours), by why the user left it.";
    chart_chats: "{n} chat", "{n} chats";
    handoff_asked_for_operator: "Ha chiesto un operatore", "Asked for an operator";
    handoff_no_fitting_article: "Nessun articolo adatto", "No fitting article";
    handoff_ask_back_unresolved: "Proposte non pertinenti", "Suggestions did not fit";
    handoff_privacy: "Richiesta privacy", "Privacy request";
    handoff_not_sure: "Bot incerto (versioni precedenti)", "Bot not sure (earlier)";
    handoff_other: "Altro", "Other";
    chart_backlog: "Ticket aperti adesso: {n}, per età", "Backlog now: {n} open tickets, by age";
    chart_backlog_title: "Ticket aperti per età", "Open tickets by age";
    chart_backlog_desc: "I ticket aperti adesso, per giorni trascorsi dall'apertura.", "Open tickets now, by days since they were opened.";
    chart_open: "{n} ticket", "{n} open";
    age_today: "da oggi", "opened today";
    age_one_to_two: "da 1–2 giorni", "1–2 days";
    age_three_to_seven: "da 3–7 giorni", "3–7 days";
    age_eight_to_thirty: "da 8–30 giorni", "8–30 days";
    age_over_thirty: "da oltre 30 giorni", "over 30 days";
    esc_heading: "Inoltri in attesa di riscontro", "Escalations waiting for a notice";
    esc_none: "Nessun inoltro in questo periodo e nessuno in attesa.", "No escalation in this period and none waiting.";
    esc_target: "Destinatario", "Target";
    esc_outstanding: "In attesa", "Waiting";
    esc_old: "Da oltre 7 giorni", "Over 7 days";
    esc_sent: "Inviati nel periodo", "Sent in the period";
    esc_notices: "Riscontri ricevuti", "Notices received";
    esc_wait: "Attesa del riscontro (mediana / 90°)", "Wait for the notice (median / 90th)";
    gdpr_heading: "Scadenze GDPR in corso", "GDPR clocks running";
    gdpr_none: "Nessuna richiesta dell'interessato e nessuna segnalazione di violazione aperta.", "No data-subject request or breach report is open.";
    gdpr_ticket: "Ticket", "Ticket";
    gdpr_clock: "Obbligo", "Obligation";
    gdpr_due: "Scadenza", "Due";
    gdpr_left: "Tempo rimasto", "Time left";
    gdpr_breach: "Violazione di dati: notifica entro 72 ore (art. 33)", "Breach report: notify within 72 hours (art. 33)";
    gdpr_request: "Richiesta dell'interessato: risposta entro un mese (art. 12(3))", "Data-subject request: answer within one month (art. 12(3))";
    gdpr_days_left: "{n} giorni", "{n} days";
    gdpr_hours_left: "{n} ore", "{n} hours";
    gdpr_overdue_by: "SCADUTA da {left}", "OVERDUE by {left}";
    drill_back: "← Torna ai report", "← Back to the reports";
    drill_period: "Dal {from} al {to}", "{from} to {to}";
    drill_open_now: "Aperti adesso", "Open now";
    drill_open_now_age: "Aperti adesso, {age}", "Open now, {age}";
    drill_within: "solo: {filter}", "only: {filter}";
    drill_none: "Nessun ticket.", "No tickets.";
    drill_counted_on: "Contato il", "Counted on";
    drill_count: "{n} ticket in questa pagina", "{n} tickets on this page";
    col_operator: "Operatore", "Operator";
    dim_none: "(nessuno)", "(none)";
    dim_no_target: "(senza inoltro)", "(no escalation)";
    rep_back_to_month: "Torna al mese in corso", "Back to this month";
    rep_error_title: "Report: errore", "Reports: error";
    figure_contacts: "Contatti ricevuti", "Contacts received";
    figure_opened: "Ticket aperti", "Tickets opened";
    figure_out_of_hours: "Contatti fuori orario", "Contacts out of hours";
    figure_not_served: "Contatti non serviti", "Contacts not served";
    figure_resolved: "Risolti dagli operatori", "Resolved by operators";
    figure_auto_resolved: "Risolti dal bot", "Solved by the bot";
    figure_auto_closed: "Chiusi in automatico", "Closed automatically";
    figure_first_contact_resolved: "Risolti al primo contatto", "Resolved at first contact";
    figure_first_responses: "Prime risposte", "First responses";
    figure_escalations: "Inoltri inviati", "Escalations sent";
    figure_notices: "Riscontri ricevuti", "Notices received";
    figure_escalation_reminders: "Solleciti ai destinatari", "Targets reminded";
    figure_reminders: "Solleciti ricevuti", "Reminders received";
    figure_tickets_chased: "Ticket sollecitati", "Tickets chased";
    figure_surveys_sent: "Questionari inviati", "Surveys sent";
    figure_bot_conversations: "Conversazioni con il bot", "Bot conversations";
    figure_bot_contained: "Chat risolte dal bot", "Chats the bot solved";
    figure_bot_handed_off: "Chat passate a un operatore", "Chats handed to an operator";
    figure_bot_closed_out_of_hours: "Chat chiuse fuori orario", "Chats closed out of hours";
    figure_bot_asked_back: "Chat in cui il bot ha proposto articoli", "Chats where the bot offered articles";
    figure_survey_responses: "Risposte ai questionari", "Survey responses";
    figure_rating: "Valutazione {n} su 5", "Rating {n} of 5";
    figure_handoff: "Chat lasciate al bot: {reason}", "Chats that left the bot: {reason}";
    figure_sla_met: "{deadline}: SLA rispettato", "{deadline}: SLA met";
    figure_sla_breached: "{deadline}: in ritardo sullo SLA", "{deadline}: SLA breached";
    figure_open: "Ticket aperti", "Open tickets";
    figure_open_state: "Ticket aperti, {state}", "Open tickets, {state}";
    figure_outstanding_escalations: "Inoltri in attesa di riscontro", "Escalations waiting for a notice";
    month_1: "gennaio", "January";
    month_2: "febbraio", "February";
    month_3: "marzo", "March";
    month_4: "aprile", "April";
    month_5: "maggio", "May";
    month_6: "giugno", "June";
    month_7: "luglio", "July";
    month_8: "agosto", "August";
    month_9: "settembre", "September";
    month_10: "ottobre", "October";
    month_11: "novembre", "November";
    month_12: "dicembre", "December";

    // The problem types' pages (`GET /problems/<kind>`): what a 409 of the API means and what to do.
    problem_page_kind: "Tipo di problema", "Problem type";
    problem_page_means: "Che cosa significa", "What it means";
    problem_page_next: "Che cosa fare", "What to do next";
    problem_page_sent: "L'API risponde con lo stato HTTP 409 e un corpo application/problem+json: il campo type è l'indirizzo di questa pagina, detail descrive il caso preciso.", "The API answers with HTTP status 409 and an application/problem+json body: its type is this page's address, and detail describes the case at hand.";
    problem_page_switch: "English", "Italiano";
    problem_flow_title: "Il flusso richiede prima un altro passo", "The flow expects another step first";
    problem_flow_means: "Il ticket segue il flusso che il regolamento gli assegna, e la richiesta arriva prima del passo che il flusso attende: la classificazione, la verifica degli incidenti, o l'inoltro a uno dei destinatari che il flusso nomina.", "The ticket follows the flow the rulebook gives it, and the request came before the step that flow expects: triage, the incident check, or an escalation to one of the targets the flow names.";
    problem_flow_next: "Leggi detail: nomina il passo o i valori che il flusso consente. Esegui quel passo, poi ripeti la richiesta. Se è il flusso a sembrare sbagliato, segnalalo a chi cura il regolamento.", "Read detail: it names the step or the values the flow allows. Take that step, then repeat the request. If the flow itself looks wrong, tell whoever maintains the rulebook.";
    problem_state_title: "Il ticket non è nello stato giusto", "The ticket is not in a state for this";
    problem_state_means: "Il ticket (o la sua chat, o il suo questionario) è in uno stato che ora non accetta questa azione: per esempio è chiuso, attende la notifica di risoluzione di un destinatario, o la chat è terminata.", "The ticket (or its chat, or its survey) is in a state that takes no such action now: it is closed, for example, or awaits a target's resolution notice, or its chat has ended.";
    problem_state_next: "Rileggi il ticket per vederne lo stato attuale e scegli un'azione che quello stato consente. La stessa richiesta, ripetuta, riceve la stessa risposta.", "Read the ticket again to see its current state, and choose an action that state allows. The same request, repeated, gets the same answer.";
    problem_done_title: "Già fatto", "Done already";
    problem_done_means: "Quello che la richiesta chiede è già stato fatto, da chi chiama o da altri: un questionario a cui si è già risposto, un ticket già in carico a un altro operatore.", "What the request asks for is done already, by this caller or another: a survey already answered, a ticket another operator has in charge.";
    problem_done_next: "Non serve ripetere la richiesta. Rileggi il ticket per vedere chi ha agito e quando; per un ticket in carico a un altro operatore, chiedi a un supervisore di riassegnarlo.", "There is no need to repeat the request. Read the ticket to see who acted and when; for a ticket in another operator's charge, ask a supervisor to reassign it.";
    problem_channel_title: "Un altro canale o un altro client", "Another channel or client";
    problem_channel_means: "La richiesta appartiene a un canale o a un client diverso da quello del ticket: la categoria non arriva dal canale del ticket, oppure un client ha usato una categoria dell'albero di un altro client.", "The request belongs to another channel or client than the ticket's: the category does not arrive on the ticket's channel, or a client used a category of another client's tree.";
    problem_channel_next: "Usa il canale e le credenziali con cui il ticket è stato aperto, o una categoria del tuo albero: /openapi.json elenca quelle di ogni client.", "Use the channel and the credentials the ticket was opened with, or a category of your own tree: /openapi.json lists every client's.";
    problem_unsupported_title: "Non previsto in questa installazione", "Not available in this deployment";
    problem_unsupported_means: "Questa installazione, o il suo regolamento, non ha ciò che la richiesta presuppone: nessun blocco email, nessun canale chat, nessun bot sul canale, nessun dato per i report.", "This deployment, or its rulebook, has nothing to do it with: no email block, no chat channel, no bot on the channel, no report figures.";
    problem_unsupported_next: "Non ripetere la richiesta: la risposta resta la stessa finché la configurazione non cambia. Chiedi a chi amministra l'installazione di attivare la funzione nel regolamento o nella configurazione.", "Do not repeat the request: the answer stays the same until the setup changes. Ask the deployment's administrators to turn the feature on in the rulebook or the configuration.";
    problem_held_title: "Anteprima superata o azione bloccata", "Preview gone stale, or a hold";
    problem_held_means: "Ciò che è stato confermato non corrisponde più a quello che c'è da fare (un'anteprima di cancellazione superata da nuovi ticket), oppure un blocco, come un vincolo legale, impedisce l'azione.", "What was confirmed no longer matches what there is to act on (an erasure preview overtaken by new tickets), or a hold, such as a legal hold, stops the action.";
    problem_held_next: "Chiedi di nuovo l'anteprima, controllala e conferma quella nuova. Se a fermare l'azione è un blocco, deve toglierlo prima chi lo ha posto.", "Ask for the preview again, check it, and confirm the new one. If a hold stops the action, whoever placed it must lift it first.";
    problem_contended_title: "Modifiche concorrenti", "Concurrent changes";
    problem_contended_means: "Altre modifiche allo stesso ticket sono state registrate, una dopo l'altra, mentre questa veniva applicata: questa non è stata applicata.", "Other changes to the same ticket kept being recorded while this one was being applied: this one was not applied.";
    problem_contended_next: "Ripeti la richiesta tra poco: di solito riesce. Se accade spesso, qualcosa (un'integrazione, uno script) modifica il ticket di continuo.", "Repeat the request shortly: it usually succeeds. If it happens often, something (an integration, a script) keeps changing the ticket.";
    problem_typed_by_incident_check_title: "Il tipo lo decide la verifica degli incidenti", "Typed by the incident check";
    problem_typed_by_incident_check_means: "Per questo ticket il flusso decide il tipo con la verifica degli incidenti, non con la classificazione: Q se sul servizio è attivo un incidente, I (inoltrato alla gestione degli incidenti) se non ce n'è.", "The flow types this ticket by the incident check, not by classify: Q when an incident is active on the service, I (escalated to incident management) when none is.";
    problem_typed_by_incident_check_next: "Esegui la verifica degli incidenti sul ticket, con la richiesta che detail indica, invece di classificarlo.", "Run the incident check on the ticket, with the request detail names, instead of classifying it.";

    // Time.
    minutes_short: "{n} min", "{n} min";
    hours_short: "{n} h", "{n} h";
    days_short: "{n} g", "{n} d";
    just_now: "adesso", "just now";
}

/// Texts by key, for values only known at run time (a state, a step, a deadline kind).
pub fn lookup(tr: Tr, key: &str) -> Option<&'static str> {
    CATALOGUE.iter().find(|(k, _, _)| *k == key).map(|(_, it, en)| match tr.lang {
        Lang::It => *it,
        Lang::En => *en,
    })
}

/// The rulebook's step names in both languages (its own vocabulary).
pub fn step_label(tr: Tr, step: &str) -> &str {
    let (it, en) = match step {
        "ivr_welcome" => ("Benvenuto dell'IVR", "IVR welcome"),
        "ivr_out_of_hours_message" => ("Messaggio di servizio chiuso", "Closed-service message"),
        "chat_welcome" => ("Benvenuto in chat", "Chat welcome"),
        "bot_conversation" => ("Conversazione con il bot", "Bot conversation"),
        "auto_resolve" => ("Risolto dal bot", "Resolved by the bot"),
        "handoff_to_operator" => ("Passaggio all'operatore", "Handoff to an operator"),
        "auto_close" => ("Chiusura automatica", "Automatic close"),
        "suggest_alternative_channels" => ("Indica altri canali", "Suggest other channels"),
        "take_in_charge" => ("Presa in carico", "Take in charge"),
        "classify" => ("Classificazione", "Classify"),
        "route_to_privacy_team" => ("Al team privacy", "To the privacy team"),
        "answer_from_knowledge_base" => ("Risposta dalla base di conoscenza", "Answer from the knowledge base"),
        "give_self_service_directions" => ("Indicazioni self-service", "Self-service directions"),
        "check_referenced_ticket_status" => ("Verifica del ticket sollecitato", "Check the chased ticket"),
        "check_active_incidents" => ("Verifica incidenti attivi", "Check active incidents"),
        "provide_restoration_info" => ("Informazioni di ripristino", "Restoration information"),
        "close_contact" => ("Chiusura del contatto", "End the contact"),
        "escalate" => ("Inoltro", "Escalate"),
        "await_resolution_notice" => ("Attesa del riscontro", "Await the resolution notice"),
        "compose_answer" => ("Composizione della risposta", "Compose the answer"),
        "resolve" => ("Risoluzione", "Resolve"),
        _ => return step,
    };
    match tr.lang {
        Lang::It => it,
        Lang::En => en,
    }
}

// Values in words: the domain's states and types, and the rulebook's names, in the reader's
// language.

pub fn state_label(t: Tr, s: TicketState) -> &'static str {
    lookup(t, &format!("state_{}", s.as_str())).unwrap_or("?")
}

pub fn type_label(t: Tr, ty: Option<TicketType>) -> &'static str {
    match ty {
        None => t.no_type(),
        Some(ty) => lookup(t, &format!("type_{}", ty.code().to_ascii_lowercase())).unwrap_or("?"),
    }
}

pub fn sla_label(t: Tr, s: Option<SlaState>) -> &'static str {
    match s {
        None => t.sla_none(),
        Some(SlaState::Met) => t.sla_met(),
        Some(SlaState::OnTime) => t.sla_on_time(),
        Some(SlaState::Warning) => t.sla_warning(),
        Some(SlaState::Breached) => t.sla_breached(),
    }
}

/// A rulebook text (`{it: …, en: …}`) in the reader's language, or the id.
pub fn rulebook_text<'a>(
    text: Option<&'a std::collections::BTreeMap<String, String>>,
    lang: Lang,
    id: &'a str,
) -> &'a str {
    text.and_then(|t| t.get(lang.code()).or_else(|| t.values().next())).map_or(id, String::as_str)
}

pub fn category_name<'a>(engine: &'a Engine, lang: Lang, id: Option<&'a str>) -> &'a str {
    match id {
        None => "—",
        Some(id) => rulebook_text(engine.rules.categories.get(id).map(|c| &c.name), lang, id),
    }
}

pub fn channel_name<'a>(engine: &'a Engine, lang: Lang, id: &'a str) -> &'a str {
    rulebook_text(engine.rules.channels.get(id).map(|c| &c.name), lang, id)
}

pub fn team_name<'a>(engine: &'a Engine, lang: Lang, id: &'a str) -> &'a str {
    if id == crate::engine::TRIAGE_TEAM {
        // Where a ticket waits, for a moment, for triage to give it its team.
        return Tr { lang }.team_awaiting_triage();
    }
    rulebook_text(engine.rules.teams.get(id).map(|c| &c.name), lang, id)
}

pub fn target_name<'a>(engine: &'a Engine, lang: Lang, id: &'a str) -> &'a str {
    rulebook_text(engine.rules.targets.get(id).map(|c| &c.name), lang, id)
}

/// A duration for a person: `3 h 20 min`, `2 g 4 h`, `12 min`.
pub fn span(t: Tr, d: SignedDuration) -> String {
    let minutes = d.as_secs().unsigned_abs() / 60;
    let (days, hours, mins) = (minutes / 1440, (minutes % 1440) / 60, minutes % 60);
    let part = |text: &str, n: u64| fill(text, &[("n", &n.to_string())]);
    if days > 0 {
        if hours > 0 {
            format!("{} {}", part(t.days_short(), days), part(t.hours_short(), hours))
        } else {
            part(t.days_short(), days)
        }
    } else if hours > 0 {
        if mins > 0 {
            format!("{} {}", part(t.hours_short(), hours), part(t.minutes_short(), mins))
        } else {
            part(t.hours_short(), hours)
        }
    } else if mins > 0 {
        part(t.minutes_short(), mins)
    } else {
        t.just_now().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholders(text: &str) -> Vec<&str> {
        let mut out: Vec<&str> = text.split('{').skip(1).filter_map(|p| p.split_once('}').map(|(n, _)| n)).collect();
        out.sort_unstable();
        out
    }

    #[test]
    fn every_text_exists_in_both_languages_with_the_same_placeholders() {
        let mut keys = std::collections::BTreeSet::new();
        for (key, it, en) in CATALOGUE {
            assert!(keys.insert(*key), "{key} twice");
            assert!(!it.trim().is_empty() && !en.trim().is_empty(), "{key} is empty");
            assert_eq!(placeholders(it), placeholders(en), "{key}");
        }
    }

    #[test]
    fn texts_are_filled_and_looked_up() {
        let it = Tr { lang: Lang::It };
        assert_eq!(fill(it.signed_in_as(), &[("id", "op-7")]), "Collegato come op-7");
        assert_eq!(lookup(Tr { lang: Lang::En }, "state_new"), Some("new"));
        assert_eq!(step_label(it, "escalate"), "Inoltro");
        assert_eq!(step_label(it, "custom_step"), "custom_step");
    }

    #[test]
    fn spans_read_like_a_person_writes_them() {
        let it = Tr { lang: Lang::It };
        assert_eq!(span(it, SignedDuration::from_mins(200)), "3 h 20 min");
        assert_eq!(span(it, SignedDuration::from_hours(52)), "2 g 4 h");
        assert_eq!(span(it, SignedDuration::from_mins(-12)), "12 min");
        assert_eq!(span(Tr { lang: Lang::En }, SignedDuration::from_secs(20)), "just now");
    }
}
