"""The page behind a problem type, as an integrator following a refusal's `type` reads it: in
Italian first, in English for an English browser or by its language link."""

from playwright.sync_api import expect

from conftest import look


def test_a_refusal_s_type_is_a_page_that_says_what_to_do(sportello, new_page):
    page = new_page()
    page.goto(sportello.url + "/problems/flow")
    expect(page.get_by_role("heading", level=1, name="Il flusso richiede prima un altro passo")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name="Che cosa fare")).to_be_visible()
    look(page, "problem-flow-it")

    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1, name="The flow expects another step first")).to_be_visible()
    look(page, "problem-flow-en")

    english = new_page(locale="en-GB")
    english.goto(sportello.url + "/problems/typed-by-incident-check")
    expect(english.get_by_role("heading", level=1, name="Typed by the incident check")).to_be_visible()
    expect(english.get_by_role("heading", level=2, name="What to do next")).to_be_visible()
    look(english, "problem-typed-by-incident-check-en")
