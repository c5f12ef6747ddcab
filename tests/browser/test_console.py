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
