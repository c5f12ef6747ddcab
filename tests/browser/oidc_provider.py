"""A small OpenID Connect provider for the console's sign-in test: discovery, an authorization
form, and a token endpoint that enforces what Cognito enforces for a web client: a known client
and redirect URI, the client secret, authorization code with PKCE (S256 only: a wrong or missing
`code_verifier` is refused), one use per code, and a `nonce` carried into the ID token (HS256,
signed with the client secret). Roles are the `cognito:groups` claim, as Cognito sends them."""

import base64
import hashlib
import hmac
import html
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Provider:
    def __init__(self, client_id: str, client_secret: str, redirect_prefix: str):
        self.client_id, self.client_secret, self.redirect_prefix = client_id, client_secret, redirect_prefix
        self.codes = {}
        self.refused = []  # why token requests were refused, for the test to read
        self.issued = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def send(self, status, body, kind="application/json", headers=None):
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urllib.parse.urlparse(self.path)
                q = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/.well-known/openid-configuration":
                    return self.send(200, json.dumps({
                        "issuer": provider.issuer,
                        "authorization_endpoint": provider.issuer + "/authorize",
                        "token_endpoint": provider.issuer + "/token",
                        "end_session_endpoint": provider.issuer + "/logout",
                        "response_types_supported": ["code"],
                        "code_challenge_methods_supported": ["S256"],
                    }))
                if url.path == "/authorize":
                    problem = provider.check_authorize(q)
                    if problem:
                        return self.send(400, f"<p>{html.escape(problem)}</p>", "text/html")
                    hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                                     for k, v in q.items())
                    return self.send(200, f"""<!doctype html><html lang="en"><head><title>Test identity provider</title></head>
<body><main><h1>Test identity provider</h1><form method="post" action="/authorize">{hidden}
<label for="sub">User</label> <input id="sub" name="sub" required>
<fieldset><legend>Groups</legend>
<input type="checkbox" id="g-op" name="groups" value="operator"><label for="g-op">operator</label>
<input type="checkbox" id="g-priv" name="groups" value="privacy_operator"><label for="g-priv">privacy_operator</label>
<input type="checkbox" id="g-sup" name="groups" value="supervisor"><label for="g-sup">supervisor</label>
</fieldset><button type="submit">Sign in</button></form></main></body></html>""", "text/html")
                if url.path == "/logout":
                    back = q.get("post_logout_redirect_uri", "")
                    return self.send(200, f"""<!doctype html><html lang="en"><head><title>Signed out</title></head>
<body><main><h1>Signed out of the identity provider</h1><p><a href="{html.escape(back)}">Back to the application</a></p></main></body></html>""", "text/html")
                return self.send(404, "{}")

            def do_POST(self):
                length = int(self.headers.get("content-length", "0"))
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                one = {k: v[0] for k, v in form.items()}
                if self.path == "/authorize":
                    problem = provider.check_authorize(one)
                    if problem or not one.get("sub"):
                        return self.send(400, problem or "no user", "text/plain")
                    code = secrets.token_urlsafe(24)
                    provider.codes[code] = {**one, "groups": form.get("groups", []), "at": time.time()}
                    to = one["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": one["state"]})
                    return self.send(302, "", "text/plain", {"location": to})
                if self.path == "/token":
                    status, body = provider.token(one, self.headers.get("authorization"))
                    return self.send(status, json.dumps(body))
                return self.send(404, "{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()

    def check_authorize(self, q):
        if q.get("client_id") != self.client_id:
            return "unknown client"
        if not q.get("redirect_uri", "").startswith(self.redirect_prefix):
            return "redirect_uri not registered"
        if q.get("response_type") != "code":
            return "only the authorization code flow"
        if q.get("code_challenge_method") != "S256" or len(q.get("code_challenge", "")) < 43:
            return "PKCE with S256 is required"
        if not q.get("nonce") or not q.get("state"):
            return "state and nonce are required"
        return None

    def refuse(self, why):
        self.refused.append(why)
        return 400, {"error": "invalid_grant", "error_description": why}

    def token(self, form, authorization):
        secret = None
        if authorization and authorization.startswith("Basic "):
            client, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
            if urllib.parse.unquote(client) != self.client_id:
                return self.refuse("wrong client")
            secret = urllib.parse.unquote(secret)
        else:
            secret = form.get("client_secret")
        if secret != self.client_secret:
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != "authorization_code":
            return self.refuse("unsupported grant")
        code = self.codes.pop(form.get("code", ""), None)
        if code is None:
            return self.refuse("unknown or used code")
        if form.get("redirect_uri") != code["redirect_uri"]:
            return self.refuse("redirect_uri differs")
        verifier = form.get("code_verifier", "")
        if b64url(hashlib.sha256(verifier.encode()).digest()) != code["code_challenge"]:
            return self.refuse("PKCE: the code_verifier does not match the challenge")
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.client_id, "sub": code["sub"], "iat": now, "exp": now + 3600,
                  "nonce": code["nonce"], "cognito:groups": code["groups"], "token_use": "id"}
        head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = b64url(json.dumps(claims).encode())
        sig = b64url(hmac.new(self.client_secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
        self.issued += 1
        return 200, {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 3600,
                     "id_token": f"{head}.{body}.{sig}"}
