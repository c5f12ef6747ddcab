"""Signing in and out: with an operator token (local), and through an OpenID Connect provider
(authorization code with PKCE, as on AWS with Cognito), started here by the test; English on
request; a whole piece of work done from the keyboard alone."""

import re

import pytest
from playwright.sync_api import expect

from conftest import Sportello, look, sign_in
from oidc_provider import Provider


@pytest.fixture(scope="module")
def oidc_sportello():
    provider = Provider("sportello-console", "s3cret-for-tests", "http://127.0.0.1:")
    s = Sportello(extra_env={
        "SPORTELLO_OIDC_ISSUER": provider.issuer,
        "SPORTELLO_OIDC_CLIENT_ID": "sportello-console",
        "SPORTELLO_OIDC_CLIENT_SECRET": "s3cret-for-tests",
    }, operators={"op-101": "operator"})
    yield s, provider
    s.stop()
    provider.stop()


def test_operators_sign_in_with_the_organisations_openid_provider(oidc_sportello, new_page):
    sportello, provider = oidc_sportello
    reference = sportello.call(menu="1")
    page = new_page()
    page.goto(sportello.url + "/queue")
    expect(page.get_by_role("heading", name="Accedi alla scrivania")).to_be_visible()
    expect(page.get_by_label("Token di operatore")).to_have_count(0)
    look(page, "sign-in-openid")
    page.get_by_role("link", name="Accedi con l'account aziendale").click()
    expect(page.get_by_role("heading", name="Test identity provider")).to_be_visible()
    page.get_by_label("User").fill("ada.ops")
    page.get_by_label("operator", exact=True).check()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/queue$"))
    expect(page.get_by_text("Collegato come ada.ops")).to_be_visible()
    expect(page.get_by_role("link", name=reference)).to_be_visible()
    # The provider enforced PKCE: it issued a token, and refused nothing.
    assert provider.issued == 1 and provider.refused == []

    page.get_by_role("button", name="Esci").click()
    expect(page.get_by_role("heading", name="Signed out of the identity provider")).to_be_visible()
    page.get_by_role("link", name="Back to the application").click()
    expect(page.get_by_role("status")).to_have_text("Sei uscito. A presto!")
    page.goto(sportello.url + "/queue")
    expect(page.get_by_role("heading", name="Accedi alla scrivania")).to_be_visible()


def test_a_sign_in_the_provider_refuses_or_a_forged_callback_leads_back_to_the_form(oidc_sportello, new_page):
    sportello, provider = oidc_sportello
    page = new_page()
    page.goto(sportello.url + "/auth/callback?code=forged&state=forged")
    expect(page.get_by_role("alert")).to_contain_text("Il fornitore di identità non ha confermato l'accesso")
    # A user without any operator group is not let in.
    page.get_by_role("link", name="Accedi con l'account aziendale").click()
    page.get_by_label("User").fill("no.roles")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Il fornitore di identità non ha confermato l'accesso")
    look(page, "sign-in-refused")


def test_a_wrong_token_is_refused_and_signing_out_ends_the_session(sportello, new_page):
    page = new_page()
    page.goto(sportello.url + "/sign-in")
    page.get_by_label("Token di operatore").fill("spo_not-a-token")
    page.get_by_role("button", name="Accedi").click()
    expect(page.get_by_role("alert")).to_contain_text("Token sconosciuto o revocato")
    expect(page.get_by_label("Token di operatore")).to_have_attribute("aria-invalid", "true")
    look(page, "sign-in-wrong-token")
    sign_in(page, sportello, "op-101")
    page.get_by_role("button", name="Esci").click()
    expect(page.get_by_role("status")).to_have_text("Sei uscito. A presto!")
    page.goto(sportello.url + "/queue")
    expect(page.get_by_role("heading", name="Accedi alla scrivania")).to_be_visible()


def test_the_console_reads_in_english_on_request(sportello, new_page):
    page = new_page()
    sign_in(page, sportello, "sup-301")
    page.get_by_role("link", name="Read the console in English").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Work queue")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    # Supervisors see every team's queue (but the privacy team's, without its role).
    team = page.get_by_role("combobox", name="Team")
    team.select_option(label="Every team")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Every team")
    expect(page.get_by_role("columnheader", name="Team")).to_be_visible()
    look(page, "queue-all-teams-english")
    page.get_by_role("link", name="Leggi la console in italiano").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Coda di lavoro")


def test_work_is_done_from_the_keyboard_alone(sportello, new_page):
    reference = sportello.mail("Ricevuta di pagamento", "Dove trovo la ricevuta del pagamento che ho fatto ieri?")
    page = new_page()
    page.goto(sportello.url + "/sign-in")
    page.keyboard.press("Tab")  # the skip link comes first
    expect(page.get_by_role("link", name="Vai al contenuto principale")).to_be_focused()
    page.get_by_label("Token di operatore").focus()
    page.keyboard.type(sportello.tokens["op-102"])
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/queue"))
    link = page.get_by_role("link", name=reference)
    link.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name=f"Ticket {reference}")).to_be_visible()
    page.get_by_role("button", name="Prendi in carico").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Ticket preso in carico.")).to_be_visible()
    page.get_by_role("radio", name="Q · Domanda").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Salva il tipo")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Tipo salvato.")).to_be_visible()
    use = page.get_by_role("link", name=re.compile(r"^Usa nella risposta"))
    use.first.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("textbox", name="Risposta al richiedente")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator(".ticket-head .badge")).to_have_text("risolto")
    # The reply went out as a mail, threaded on the requester's.
    expect(page.get_by_role("region", name="Conversazione")).to_contain_text(f"[{reference}]")
    look(page, "keyboard-resolved")
