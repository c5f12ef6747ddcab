"""Schemathesis hooks for scripts/schemathesis: inbound mail is a raw RFC 822 message, which
schemathesis has no serializer for; a generated string is sent as its bytes."""
import schemathesis


@schemathesis.serializer("message/rfc822")
def rfc822(ctx, value):
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")
