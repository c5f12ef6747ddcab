"""Schemathesis hooks for scripts/schemathesis.

docs/openapi.yaml names the formats the server checks beyond what JSON Schema can say (check
digits, a mail's headers); here each gets a strategy that draws values of that format, so the
generated positive requests are valid ones. Inbound mail is a raw RFC 822 message, which
schemathesis has no serializer for: a generated string is sent as its bytes."""
import datetime
import re
import uuid

import schemathesis
from hypothesis import strategies as st


@schemathesis.serializer("message/rfc822")
def rfc822(ctx, value):
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


def entity_fiscal_code(first_ten):
    """The 11 digits with their check digit (docs/openapi.yaml, `entity-fiscal-code`)."""
    total = 0
    for i, d in enumerate(first_ten):
        d = int(d)
        total += d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2)
    return first_ten + str((10 - total % 10) % 10)


ENTITY = st.text(alphabet="0123456789", min_size=10, max_size=10).map(entity_fiscal_code)
NOTICE = st.tuples(st.sampled_from("0123"), st.text(alphabet="0123456789", min_size=17, max_size=17)).map("".join)
# People's codes with a valid check character.
PERSON = st.just("RSSMRA80A01H501U")

schemathesis.openapi.format("entity-fiscal-code", ENTITY)
schemathesis.openapi.format("notice-code", NOTICE)
schemathesis.openapi.format("rpt-id", st.tuples(ENTITY, NOTICE).map("".join))
schemathesis.openapi.format("fiscal-code", PERSON | ENTITY)
schemathesis.openapi.format(
    "sportello-email",
    st.tuples(st.from_regex(r"\A[a-z0-9._-]{1,20}\Z"), st.sampled_from(["example.com", "pec.example.it"])).map(
        lambda t: f"{t[0]}@{t[1]}"
    ),
)
schemathesis.openapi.format("sportello-phone", st.from_regex(r"\A\+39[0-9]{6,12}\Z"))
schemathesis.openapi.format(
    "sportello-caller", st.from_regex(r"\A\+?[0-9]{3,15}\Z") | st.sampled_from(["anonymous", "private", ""])
)
schemathesis.openapi.format(
    "rfc822-message",
    st.tuples(st.from_regex(r"\A[a-z]{1,12}\Z"), st.text(max_size=200)).map(
        lambda t: f"From: {t[0]}@example.com\r\nTo: supporto@pagopa.it\r\nSubject: {t[0]}\r\n"
        f"Message-ID: <{t[0]}@example.com>\r\n\r\n{t[1]}"
    ),
)


# Rules between parameters, which OpenAPI cannot state (each parameter has its own schema): the
# document says them in words, and here the positive cases are made to follow them, so that a
# schema-valid request the server refuses is still a failure. Negative cases are left alone.
REPORT_WINDOWS = re.compile(r"^/operator/reports/(overview|escalations|incidents|tickets|dashboard|dashboard/tickets)$")
DRILL_DOWNS = {"/operator/reports/tickets", "/operator/reports/dashboard/tickets"}
OPEN_FIGURES = re.compile(r"^(open(:.*)?|outstanding_escalations)$")


def report_window(query):
    """`period`/`date` or `from`/`to`, not both; `to` only with `from`, not before it, at most
    400 days after it (docs/openapi.yaml, `ReportFrom`, `ReportTo`)."""
    if "from" not in query and "to" not in query:
        return
    query.pop("period", None)
    query.pop("date", None)
    if "from" not in query:
        query["from"] = query.pop("to")
    if "to" in query:
        try:
            first, last = sorted(datetime.date.fromisoformat(query[k]) for k in ("from", "to"))
        except (TypeError, ValueError):
            return
        if (last - first).days >= 400:
            last = first
        query["from"], query["to"] = first.isoformat(), last.isoformat()


@schemathesis.hook
def map_case(ctx, case):
    if case.meta is None or case.meta.generation.mode != "positive" or not isinstance(case.query, dict):
        return case
    path = case.operation.path
    query = case.query
    if REPORT_WINDOWS.match(path):
        report_window(query)
    if path in DRILL_DOWNS and isinstance(query.get("figure"), str):
        # Open figures are counted now and take `age`; the others take a period and no `age`.
        if OPEN_FIGURES.match(query["figure"]):
            for k in ("period", "date", "from", "to"):
                query.pop(k, None)
        else:
            query.pop("age", None)
    if path == "/chat/sessions/{reference}/messages" and "after" in query and "cursor" in query:
        # A poll goes by `cursor` or by `after`, not both (docs/chat.md).
        query.pop("after")
    return case


@schemathesis.hook("map_case")
def agreeing_payment_fields(ctx, case):
    """A fresh Idempotency-Key for each positive ticket. The default rulebook's `rpt_id`, given with `creditor_fiscal_code` and `notice_code`, must be
    those two joined (docs/openapi.yaml, `CustomFields`): positive cases are made to agree."""
    if case.meta is None or case.meta.generation.mode != "positive" or case.operation.path != "/api/v1/tickets":
        return case
    # A key names one request: sent again with another body it is refused (422, as the IETF
    # Idempotency-Key draft says), which no schema can express; each positive case gets its own.
    for name in list(case.headers or {}):
        if name.lower() == "idempotency-key":
            case.headers[name] = f"st-{uuid.uuid4()}"
    fields = case.body.get("fields") if isinstance(case.body, dict) else None
    if isinstance(fields, dict) and all(isinstance(fields.get(k), str) for k in ("rpt_id", "creditor_fiscal_code", "notice_code")):
        creditor, notice = fields["creditor_fiscal_code"].strip(), fields["notice_code"].strip()
        if creditor and notice:
            fields["rpt_id"] = creditor + notice
    return case


def blank(value):
    return isinstance(value, str) and not value.strip()


REQUESTER_FORMATS = ("email", "phone", "fiscal_code")


@schemathesis.hook("filter_case")
def blank_unknown_is_not_a_violation(ctx, case):
    """The document lets a caller's number and a requester's e-mail, phone and fiscal code be blank
    ("blank when not known": a withheld number, an app that sends "" for what it lacks), but
    schemathesis' negative mode takes a blank string for a violation of the custom format, whose
    generator it does not consult. Such a case is not negative: drop it rather than expect a
    refusal the document does not promise."""
    if case.meta is None or case.meta.generation.mode != "negative" or not isinstance(case.body, dict):
        return True
    if case.operation.path == "/voice/calls" and blank(case.body.get("caller")):
        return False
    requester = case.body.get("requester")
    if case.operation.path in ("/api/v1/tickets", "/chat/sessions") and isinstance(requester, dict):
        if any(blank(requester.get(k)) for k in REQUESTER_FORMATS):
            return False
    if case.operation.path == "/voice/connect":
        endpoint = case.body
        for key in ("Details", "ContactData", "CustomerEndpoint"):
            endpoint = endpoint.get(key) if isinstance(endpoint, dict) else None
        if isinstance(endpoint, dict) and blank(endpoint.get("Address")):
            return False
    return True
