"""Schemathesis hooks for scripts/schemathesis.

docs/openapi.yaml names the formats the server checks beyond what JSON Schema can say (check
digits, a mail's headers); here each gets a strategy that draws values of that format, so the
generated positive requests are valid ones. Inbound mail is a raw RFC 822 message, which
schemathesis has no serializer for: a generated string is sent as its bytes."""
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
