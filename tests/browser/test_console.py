"""The source's flows, walked in the console as operators, the privacy team and supervisors
would: by role and accessible name, with axe-core on every page and a screenshot of each."""

import re
import time
import urllib.request

from playwright.sync_api import expect

from conftest import look, sign_in


def open_ticket(page, sportello, reference):
    """From the queue, as an operator finds it: the row's link."""
    page.goto(sportello.url + "/queue")
    page.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", level=1, name=f"Ticket {reference}")).to_be_visible()


def test_an_operator_answers_a_voice_question_from_a_knowledge_base_suggestion(sportello, new_page):
    reference = sportello.call(menu="1")
    page = new_page()
    page.goto(sportello.url + "/")
    expect(page.get_by_role("heading", name="Accedi alla scrivania")).to_be_visible()
    look(page, "sign-in")
    sign_in(page, sportello, "op-101")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=reference))
    expect(row).to_contain_text("Telefono")
    expect(row).to_contain_text("nuovo")
    expect(row.locator(".badge")).to_have_text("in tempo")
    look(page, "queue")

    row.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", level=1, name=f"Ticket {reference}")).to_be_visible()
    path = page.locator("ol.path")
    expect(path.locator("[aria-current=step]")).to_contain_text("Presa in carico")
    look(page, "voice-ticket-new")

    # The type may be chosen while taking the ticket in charge; left to "decide later", the
    # button only takes it.
    expect(page.get_by_role("combobox", name="Tipo (facoltativo)")).to_have_value("")
    page.get_by_role("button", name="Prendi in carico").click()
    expect(page.get_by_role("status").filter(has_text="Ticket preso in carico.")).to_be_visible()
    # The flow allows only Q for a basic question.
    classify = page.get_by_role("group", name="Classifica")
    expect(classify.get_by_role("radio")).to_have_count(1)
    classify.get_by_role("radio", name="Q · Domanda").check()
    page.get_by_role("button", name="Salva il tipo").click()
    expect(page.get_by_role("status").filter(has_text="Tipo salvato.")).to_be_visible()

    # An IVR call has no text: the operator searches the knowledge base with the caller's words.
    page.get_by_role("searchbox", name="Cerca nella base di conoscenza").fill("come pagare un avviso pagoPA")
    page.get_by_role("button", name="Cerca articoli").click()
    use = page.get_by_role("link", name=re.compile(r"^Usa nella risposta: Come pagare un avviso pagoPA"))
    expect(use).to_be_visible()
    look(page, "voice-ticket-suggestions")
    use.click()
    answer = page.get_by_role("textbox", name="Risposta al richiedente")
    expect(answer).to_have_value(re.compile(r"^Come pagare un avviso pagoPA"))
    page.get_by_role("button", name="Invia la risposta e risolvi").click()
    expect(page.get_by_role("status").filter(has_text="Risposta inviata, ticket risolto.")).to_be_visible()
    expect(page.locator(".ticket-head .badge")).to_have_text("risolto")
    # The call is then ended: the flow's last step.
    page.get_by_role("button", name="Chiudi il contatto").click()
    expect(page.get_by_role("status").filter(has_text="Contatto chiuso")).to_be_visible()
    timeline = page.get_by_role("region", name="Storico")
    for what in ["Preso in carico", "Classificato", "Risposta inviata", "Risolto", "Contatto chiuso"]:
        expect(timeline).to_contain_text(what)
    expect(page.locator("ol.path .step.done")).to_have_count(page.locator("ol.path .step").count())
    look(page, "voice-ticket-resolved")


def test_a_mail_is_escalated_to_a_third_party_with_its_preview_and_resolved_on_the_signed_notice(sportello, new_page):
    reference = sportello.mail("Doppio addebito sull'avviso",
                               "Buongiorno, ho pagato due volte lo stesso avviso con la carta. Potete verificare?")
    page = new_page()
    sign_in(page, sportello, "op-101")
    open_ticket(page, sportello, reference)
    conversation = page.get_by_role("region", name="Conversazione")
    expect(conversation).to_contain_text("ho pagato due volte")
    expect(conversation).to_contain_text("ricevuta.pdf")
    page.get_by_role("button", name="Prendi in carico").click()
    # A mail comes in as a basic question; the operator finds it is a specialist matter.
    page.get_by_role("combobox", name="Categoria").select_option(label="Richiesta di supporto specialistico")
    page.get_by_role("button", name="Salva la categoria").click()
    expect(page.get_by_role("status").filter(has_text="Categoria salvata.")).to_be_visible()
    page.get_by_role("group", name="Classifica").get_by_role("radio", name="A · Attività").check()
    page.get_by_role("button", name="Salva il tipo").click()

    escalate = page.locator("#escalate")
    expect(escalate.get_by_role("radio")).to_have_count(2)
    escalate.get_by_role("radio", name="Terze parti").check()
    page.get_by_role("textbox", name="Riepilogo per il destinatario").fill(
        "Doppio addebito: il PSP verifichi lo storno della seconda transazione.")
    page.get_by_role("button", name="Aggiorna l'anteprima").click()
    preview = page.locator("details.preview[open]")
    expect(preview.locator("summary")).to_have_text("Cosa riceverà Terze parti")
    message = preview.get_by_role("region", name="Cosa riceverà Terze parti")
    expect(message).to_contain_text("il PSP verifichi lo storno")
    # Exactly what the rulebook lets a third party see: no requester's address.
    expect(message).not_to_contain_text("giulia.bianchi@example.com")
    # What stays behind, and why, in the reader's language.
    expect(preview).to_contain_text("Non riceve (dati che il regolamento non prevede per questo destinatario)")
    expect(preview).not_to_contain_text("not among the target's fields")
    look(page, "mail-escalation-preview")
    page.get_by_role("button", name="Inoltra", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Inoltrato a Terze parti.")).to_be_visible()
    expect(page.locator(".ticket-head .badge")).to_have_text("in attesa di riscontro")
    expect(page.get_by_role("button", name="Invia la risposta e risolvi")).to_have_count(0)

    sportello.notice("third_parties", reference, "Storno eseguito dal PSP il 7/12.")
    page.reload()
    expect(page.get_by_role("region", name="Inoltri")).to_contain_text("Storno eseguito dal PSP")
    page.get_by_role("textbox", name="Risposta al richiedente").fill(
        "Il secondo addebito è stato stornato: lo vedrai sulla carta entro 5 giorni lavorativi.")
    page.get_by_role("button", name="Invia la risposta e risolvi").click()
    expect(page.locator(".ticket-head .badge")).to_have_text("risolto")
    look(page, "mail-resolved-on-notice")


def test_a_chat_handed_off_is_answered_live_while_the_app_polls(sportello, new_page):
    status, chat = sportello.http("POST", "/chat/sessions", {"session_id": "console-" + uuid_hex(), "lang": "it"})
    assert status in (200, 201), chat
    ref, token = chat["reference"], chat["token"]
    app = {"authorization": f"Bearer {token}"}
    sportello.http("POST", f"/chat/sessions/{ref}/messages", {"text": "Non riesco a pagare un avviso"}, headers=app)
    status, handed = sportello.http("POST", f"/chat/sessions/{ref}/operator", {}, headers=app)
    assert status == 200 and handed["handed_off"], handed
    page = new_page()
    sign_in(page, sportello, "op-102")
    # Triage runs as a step: the chat reaches the queue a moment later, and the queue shows it
    # by itself.
    expect(page.get_by_role("link", name=ref)).to_be_visible(timeout=15000)
    page.get_by_role("link", name=ref).click()
    page.get_by_role("button", name="Prendi in carico").click()
    conversation = page.locator("#conversation")
    expect(conversation).to_contain_text("Non riesco a pagare un avviso")
    page.get_by_role("textbox", name="Messaggio all'utente").fill("Buongiorno, sono Luca. Mi dice il codice avviso?")
    page.get_by_role("button", name="Invia", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Messaggio inviato.")).to_be_visible()
    # The app's next poll reads the operator's message.
    status, polled = sportello.http("GET", f"/chat/sessions/{ref}/messages?after=0", headers=app)
    assert status == 200 and any(m["from"] == "operator" and "codice avviso" in m["body"] for m in polled["messages"]), polled
    # The citizen answers: it appears in the page without a reload.
    sportello.http("POST", f"/chat/sessions/{ref}/messages", {"text": "È 302001234567890123"}, headers=app)
    expect(conversation).to_contain_text("È 302001234567890123", timeout=10000)
    look(page, "chat-live")


def test_a_privacy_breach_is_invisible_to_first_level_and_worked_by_the_privacy_team(sportello, new_page):
    reference = sportello.api_ticket("privacy_violazione_dati", "Dati di altri in app",
                                     "Nella sezione ricevute vedo i pagamenti di un'altra persona.")
    time.sleep(1)  # triage routes it to the privacy team
    page = new_page()
    sign_in(page, sportello, "op-101")
    expect(page.get_by_role("link", name=reference)).to_have_count(0)
    page.goto(sportello.url + "/search?q=" + reference)
    expect(page.get_by_role("status").filter(has_text="Nessun ticket trovato.")).to_be_visible()
    page.goto(sportello.url + "/search?q=RSSMRA85T10A562S")
    expect(page.get_by_role("link", name=reference)).to_have_count(0)
    look(page, "privacy-hidden-from-first-level")
    page.goto(sportello.url + f"/tickets/{reference}")
    expect(page.get_by_role("heading", name="Pagina non trovata")).to_be_visible()
    page.goto(sportello.url + "/queue?team=privacy")
    expect(page.get_by_role("heading", name="Non consentito")).to_be_visible()

    privacy = new_page()
    sign_in(privacy, sportello, "priv-201")
    expect(privacy.get_by_role("heading", level=1)).to_contain_text("Team Privacy")
    privacy.get_by_role("link", name=reference).click()
    expect(privacy.get_by_role("region", name="Richiedente")).to_contain_text("RSSMRA85T10A562S")
    # The type is known from the report: taken in charge and classified with one button.
    ticket_type = privacy.get_by_role("combobox", name="Tipo (facoltativo)")
    expect(ticket_type).to_have_value("")
    ticket_type.select_option(label="PI · Privacy, violazione")
    look(privacy, "privacy-take-with-type")
    privacy.get_by_role("button", name="Prendi in carico").click()
    expect(privacy.get_by_role("status").filter(has_text="Ticket preso in carico e classificato.")).to_be_visible()
    expect(privacy.get_by_role("group", name="Classifica")).to_have_count(0)
    expect(privacy.locator(".ticket-head .badge")).to_have_text("in lavorazione")
    expect(privacy.get_by_role("region", name="Scadenze")).to_contain_text("Notifica di violazione (72 ore)")
    privacy.get_by_role("textbox", name="Riepilogo per il destinatario").fill(
        "Possibile violazione di dati personali: dati di terzi visibili in IO.")
    privacy.get_by_role("button", name="Inoltra", exact=True).click()
    expect(privacy.get_by_role("status").filter(has_text="Inoltrato a")).to_be_visible()
    sportello.notice("pagopa_privacy", reference, "Violazione confermata e notificata al Garante.")
    privacy.reload()
    privacy.get_by_role("textbox", name="Risposta al richiedente").fill(
        "Abbiamo verificato la segnalazione con il DPO di PagoPA: l'accesso è stato bloccato.")
    privacy.get_by_role("button", name="Invia la risposta e risolvi").click()
    expect(privacy.locator(".ticket-head .badge")).to_have_text("risolto")
    look(privacy, "privacy-breach-resolved")


def test_a_supervisor_declares_an_incident_a_malfunction_call_is_typed_q_and_resolving_notifies(sportello, new_page):
    supervisor = new_page()
    sign_in(supervisor, sportello, "sup-301")
    supervisor.get_by_role("link", name="Incidenti").click()
    supervisor.get_by_role("combobox", name="Servizio").fill("pagopa")
    supervisor.get_by_role("textbox", name="Titolo").fill("Pagamenti con carta non disponibili")
    supervisor.get_by_role("textbox", name="Informazioni di ripristino per i cittadini").fill(
        "Il servizio di pagamento con carta sarà ripristinato entro le 12:00.")
    supervisor.get_by_role("button", name="Dichiara").click()
    expect(supervisor.get_by_role("status").filter(has_text="Incidente dichiarato.")).to_be_visible()
    look(supervisor, "incident-declared")

    reference = sportello.call(menu="2", caller="+393331234567")
    page = new_page()
    sign_in(page, sportello, "op-101")
    open_ticket(page, sportello, reference)
    page.get_by_role("button", name="Prendi in carico").click()
    page.get_by_role("button", name="Verifica", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="ripristinato entro le 12:00")).to_be_visible()
    expect(page.get_by_role("region", name="Riepilogo")).to_contain_text("Q · Domanda")
    page.get_by_role("textbox", name="Risposta al richiedente").fill(
        "Il servizio di pagamento con carta sarà ripristinato entro le 12:00.")
    look(page, "malfunction-typed-q")
    page.get_by_role("button", name="Invia la risposta e risolvi").click()
    page.get_by_role("button", name="Chiudi il contatto").click()
    expect(page.get_by_role("status").filter(has_text="Contatto chiuso")).to_be_visible()

    supervisor.goto(sportello.url + "/incidents")
    incident = supervisor.get_by_role("article", name=re.compile("Pagamenti con carta non disponibili"))
    expect(incident).to_contain_text("Ticket collegati: 1")
    incident.get_by_role("textbox", name="Testo di chiusura per i ticket collegati").fill(
        "I pagamenti con carta funzionano di nuovo.")
    incident.get_by_role("button", name="Risolvi e avvisa i ticket collegati").click()
    expect(supervisor.get_by_role("status").filter(has_text="Incidente risolto")).to_be_visible()
    # The fan-out runs as steps: the page follows it.
    for _ in range(20):
        supervisor.reload()
        if supervisor.get_by_text("Tutti i ticket collegati sono stati avvisati.").count():
            break
        time.sleep(0.5)
    expect(supervisor.get_by_text("Tutti i ticket collegati sono stati avvisati.")).to_be_visible()
    look(supervisor, "incident-resolved-fanout")
    page.reload()
    expect(page.get_by_role("region", name="Storico")).to_contain_text("I pagamenti con carta funzionano di nuovo.")


def test_a_refusal_of_the_flow_is_shown_beside_the_action(sportello, new_page):
    reference = sportello.call(menu="1")
    page = new_page()
    sign_in(page, sportello, "op-101")
    open_ticket(page, sportello, reference)
    # Meanwhile a colleague takes it.
    status, _ = sportello.operator_api("op-102", "POST", f"/operator/tickets/{reference}/take-in-charge")
    assert status == 200
    page.get_by_role("button", name="Prendi in carico").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Il flusso non consente questa azione ora")
    expect(alert).to_contain_text("already in charge of operator op-102")
    expect(page.get_by_role("heading", level=1, name=f"Ticket {reference}")).to_be_visible()
    look(page, "refusal-beside-the-action")


def uuid_hex():
    import uuid
    return uuid.uuid4().hex


def test_the_queue_stays_current_without_a_reload_and_keeps_the_operators_place(sportello, new_page):
    first = sportello.call(menu="1", caller="+390611111111")
    page = new_page()
    sign_in(page, sportello, "op-102")
    # A mark only this page load has: a reload would lose it.
    page.evaluate("window.__sameLoad = true")
    link = page.get_by_role("link", name=first)
    link.focus()
    newcomer = sportello.mail("Avviso non trovato", "L'app dice che l'avviso non esiste.")
    expect(page.get_by_role("link", name=newcomer)).to_be_visible(timeout=15000)
    assert page.evaluate("window.__sameLoad === true"), "the queue was refreshed in place, not reloaded"
    expect(page.get_by_role("link", name=first)).to_be_focused()


def test_a_reminder_is_answered_after_looking_up_the_ticket_it_chases(sportello, new_page):
    chased = sportello.mail("Rimborso non arrivato", "Ho chiesto il rimborso del doppio pagamento, nessuna risposta.",
                            sender="luca.verdi@example.com")
    reminder = sportello.mail("Sollecito", f"Vi scrivo di nuovo per la richiesta {chased}: novità?",
                              sender="luca.verdi@example.com")
    assert reminder != chased
    page = new_page()
    sign_in(page, sportello, "op-101")
    open_ticket(page, sportello, reminder)
    expect(page.get_by_role("region", name="Riepilogo")).to_contain_text("Sollecito di richieste non evase")
    page.get_by_role("button", name="Prendi in carico").click()
    page.get_by_role("radio", name="Q · Domanda").check()
    page.get_by_role("button", name="Salva il tipo").click()
    page.get_by_role("button", name="Cerca", exact=True).click()
    result = page.locator(".result")
    expect(result).to_contain_text(f"Il sollecito riguarda {chased}: nuovo.")
    look(page, "reminder-lookup")
    page.get_by_role("link", name=f"Apri {chased}").click()
    expect(page.get_by_role("heading", level=1, name=f"Ticket {chased}")).to_be_visible()
    expect(page.get_by_role("region", name="Storico")).to_contain_text("Sollecitato")


def test_a_supervisor_reassigns_a_ticket_and_it_is_recorded(sportello, new_page):
    reference = sportello.mail("Pagamento non registrato", "Ho pagato ieri ma l'ente dice che non risulta.")
    status, _ = sportello.operator_api("op-101", "POST", f"/operator/tickets/{reference}/take-in-charge")
    assert status == 200
    # Another operator sees it but cannot work it: it is op-101's.
    colleague = new_page()
    sign_in(colleague, sportello, "op-102")
    colleague.goto(sportello.url + f"/tickets/{reference}")
    expect(colleague.get_by_role("button", name="Salva il tipo")).to_have_count(0)
    # Reassigning is a supervisor's.
    expect(colleague.get_by_role("button", name="Riassegna il ticket")).to_have_count(0)
    supervisor = new_page()
    sign_in(supervisor, sportello, "sup-301")
    supervisor.goto(sportello.url + f"/tickets/{reference}")
    # A mistyped id: refused beside the form, the reason kept.
    supervisor.get_by_role("textbox", name="Nuovo assegnatario (id operatore)").fill("op 102")
    supervisor.get_by_role("textbox", name="Motivo").fill("op-101 ha finito il turno")
    supervisor.get_by_role("button", name="Riassegna il ticket").click()
    expect(supervisor.get_by_role("alert")).to_contain_text("Controlla i dati")
    expect(supervisor.get_by_role("textbox", name="Motivo")).to_have_value("op-101 ha finito il turno")
    look(supervisor, "reassign-refused")
    supervisor.get_by_role("textbox", name="Nuovo assegnatario (id operatore)").fill("op-102")
    supervisor.get_by_role("button", name="Riassegna il ticket").click()
    expect(supervisor.get_by_role("status").filter(has_text="Ticket riassegnato a op-102.")).to_be_visible()
    expect(supervisor.get_by_role("region", name="Storico")).to_contain_text("Riassegnato")
    look(supervisor, "reassigned-by-supervisor")
    colleague.reload()
    expect(colleague.get_by_role("button", name="Salva il tipo")).to_be_visible()


def test_the_privacy_team_erases_a_requesters_data_after_the_preview_and_not_under_legal_hold(sportello, new_page):
    sportello.mail("Richiesta", "Vorrei sapere come pagare.", sender="erase.me@example.com")
    page = new_page()
    sign_in(page, sportello, "priv-201")
    page.get_by_role("link", name="Cancellazione dati").click()
    page.get_by_role("combobox", name="Trova il richiedente per").select_option("email")
    page.get_by_role("textbox", name="Valore").fill("erase.me@example.com")
    page.get_by_role("button", name="Mostra cosa verrà cancellato").click()
    preview = page.get_by_role("region", name="Verranno cancellati")
    expect(preview.get_by_role("row")).to_have_count(2)
    # What goes with the tickets, in words, not as the store's table names.
    expect(preview).to_contain_text("voci di storico")
    expect(preview).not_to_contain_text("queued_messages")
    expect(page.get_by_role("button", name="Cancella definitivamente questi dati")).to_have_accessible_description(
        re.compile("Non si può annullare"))
    look(page, "erasure-preview")
    page.get_by_role("button", name="Cancella definitivamente questi dati").click()
    expect(page.get_by_role("status")).to_contain_text("Dati cancellati da 1 ticket")
    expect(page.get_by_role("button", name="Cancella definitivamente questi dati")).to_have_count(0)
    look(page, "erasure-done")
    # The address no longer finds anything.
    page.goto(sportello.url + "/search?q=erase.me@example.com")
    expect(page.get_by_role("status").filter(has_text="Nessun ticket trovato.")).to_be_visible()
    page.goto(sportello.url + "/privacy/erasure")

    # A requester with an open breach report: the erasure waits.
    breach = sportello.api_ticket("privacy_violazione_dati", "Dati esposti", "Vedo i dati di altri.")
    page.get_by_role("combobox", name="Trova il richiedente per").select_option("fiscal_code")
    page.get_by_role("textbox", name="Valore").fill("RSSMRA85T10A562S")
    page.get_by_role("button", name="Mostra cosa verrà cancellato").click()
    held = page.get_by_role("alert")
    expect(held).to_contain_text("Cancellazione sospesa per obbligo di legge")
    expect(held).to_contain_text("Ripeti la cancellazione dopo averla risolta")
    expect(page.get_by_role("region", name="Dati di questo richiedente")).to_be_visible()
    expect(page.get_by_role("button", name="Cancella definitivamente questi dati")).to_have_count(0)
    look(page, "erasure-held")
    # The report that holds it is one click away.
    held.get_by_role("link", name=breach).click()
    expect(page.get_by_role("heading", level=1, name=f"Ticket {breach}")).to_be_visible()
    # First-level operators have no such door.
    other = new_page()
    sign_in(other, sportello, "op-101")
    expect(other.get_by_role("link", name="Cancellazione dati")).to_have_count(0)


def test_a_supervisor_reads_the_reports_on_the_console_and_opens_the_tickets_behind_a_figure(sportello, new_page):
    reference = sportello.mail("Ricevuta mancante", "Non trovo la ricevuta del pagamento di ieri.")
    # First level has no reports: no link, and the page says why.
    operator = new_page()
    sign_in(operator, sportello, "op-101")
    expect(operator.get_by_role("link", name="Report", exact=True)).to_have_count(0)

    supervisor = new_page()
    sign_in(supervisor, sportello, "sup-301")
    supervisor.get_by_role("link", name="Report", exact=True).click()
    # The whole page in Italian, like the console around it: headings, tiles, charts' text
    # alternatives, tables.
    expect(supervisor.get_by_role("heading", level=1, name="Report: dicembre 2026")).to_be_visible()
    expect(supervisor.get_by_role("heading", name="In sintesi")).to_be_visible()
    tiles = supervisor.get_by_role("list", name="In sintesi")
    expect(tiles.get_by_role("listitem").filter(has_text="Contatti ricevuti")).to_be_visible()
    expect(tiles.get_by_role("link", name=re.compile(r"^[1-9]")).first).to_be_visible()
    expect(supervisor.get_by_role("group", name=re.compile(r"^Contatti ricevuti al giorno .* contatti in 31 giorni"))
           ).to_be_visible()
    expect(supervisor.get_by_role("link", name=re.compile(r"^07\/12: \d+ contatt[io]$"))).to_be_visible()
    expect(supervisor.get_by_role("group", name=re.compile(r"^Ticket aperti per età I ticket aperti adesso"))
           ).to_be_visible()
    escalations = supervisor.get_by_role("table", name="Inoltri in attesa di riscontro")
    expect(escalations.get_by_role("columnheader", name="Destinatario")).to_be_visible()
    expect(escalations.get_by_role("rowheader").first).not_to_have_text(re.compile("_"))
    gdpr = supervisor.get_by_role("table", name="Scadenze GDPR in corso")
    expect(gdpr.get_by_role("cell", name=re.compile("^Violazione di dati: notifica entro 72 ore")).first).to_be_visible()
    expect(supervisor.locator("main")).not_to_contain_text(re.compile(r"Contacts|Backlog|Escalations|OVERDUE|tickets"))
    look(supervisor, "reports-dashboard")

    # The month before is one click away, and so is any day, week or month.
    supervisor.get_by_role("link", name="Periodo precedente: novembre 2026").click()
    expect(supervisor.get_by_role("heading", level=1, name="Report: novembre 2026")).to_be_visible()
    supervisor.get_by_role("combobox", name="Periodo").select_option(label="settimana")
    supervisor.get_by_label("Che comprende il").fill("2026-12-07")
    supervisor.get_by_role("button", name="Mostra").click()
    expect(supervisor.get_by_role("heading", level=1, name="Report: settimana dal 07/12/2026 al 13/12/2026")
           ).to_be_visible()
    look(supervisor, "reports-week")

    # A bar of the backlog is a link to the tickets behind it, and each to its page.
    supervisor.get_by_role("link", name=re.compile(r"^da oggi: [1-9]\d* ticket$")).first.click()
    expect(supervisor.get_by_role("heading", level=1, name=re.compile("^Ticket dietro a «Ticket aperti»"))).to_be_visible()
    listed = supervisor.get_by_role("table", name=re.compile(r"^\d+ ticket in questa pagina"))
    expect(listed.get_by_role("columnheader", name="Contato il")).to_be_visible()
    look(supervisor, "reports-tickets-behind-a-figure")
    supervisor.get_by_role("link", name=reference).click()
    expect(supervisor.get_by_role("heading", level=1, name=f"Ticket {reference}")).to_be_visible()

    # In English on request, as the rest of the console.
    supervisor.goto(sportello.url + "/reports")
    supervisor.get_by_role("link", name="Read the console in English").click()
    expect(supervisor.get_by_role("heading", level=1, name="Reports: December 2026")).to_be_visible()
    expect(supervisor.get_by_role("group", name=re.compile(r"^Open tickets by age"))).to_be_visible()
    supervisor.get_by_role("link", name="Leggi la console in italiano").click()
    expect(supervisor.get_by_role("heading", level=1, name="Report: dicembre 2026")).to_be_visible()
