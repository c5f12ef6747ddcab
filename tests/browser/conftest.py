"""The console's browser suite: a real Sportello (the `sportello` binary the test command built)
on a throw-away data folder with its clock set to a Monday morning in Rome, Debian's Chromium
driven by Playwright, and axe-core on every page.

The channels (a phone call, a mail, a chat, the IO app) and the targets' signed notices are
played over HTTP, as the real callers would; people work in the browser, finding things by role
and accessible name."""

import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("SPORTELLO_BIN", ROOT / "target" / "debug" / "sportello"))
SHOTS = ROOT / "target" / "console-screenshots"
CHROMIUM = os.environ.get("SPORTELLO_CHROMIUM", "/usr/bin/chromium")
# Monday 7 December 2026, 10:00 in Rome: in service hours.
CLOCK_START = "2026-12-07T10:00:00+01:00"
TARGETS = ["pagopa_specialists", "third_parties", "pagopa_incident_management", "pagopa_privacy"]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sportello:
    """A running Sportello and what its callers need: operator tokens, an API key, the mail
    token, the targets' notice secrets."""

    def __init__(self, extra_env=None, operators=None):
        if not BIN.exists():
            raise RuntimeError(f"{BIN} is missing: build it first (cargo build --all-features --bin sportello)")
        self.dir = Path(tempfile.mkdtemp(prefix="sportello-console-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.secrets = {t: uuid.uuid4().hex for t in TARGETS}
        self.env = {
            **os.environ,
            "SPORTELLO_OPERATORS": str(self.dir / "operators.json"),
            "SPORTELLO_API_KEYS": str(self.dir / "api-keys.json"),
            "SPORTELLO_CLOCK_START": CLOCK_START,
            "SPORTELLO_LOG": "warn",
            **{f"SPORTELLO_TARGET_SECRET_{t.upper()}": s for t, s in self.secrets.items()},
            **(extra_env or {}),
        }
        self.tokens = {}
        for op, roles in (operators or {
            "op-101": "operator", "op-102": "operator",
            "priv-201": "operator,privacy_operator", "sup-301": "supervisor",
        }).items():
            out = self.cli("operators", "add", op, "--role", roles)
            self.tokens[op] = re.search(r"spo_[0-9a-f]+", out).group(0)
        out = self.cli("clients", "add", "io", "--rules", str(ROOT / "rules"))
        self.api_key = re.search(r"spk_[0-9a-f]+_[0-9a-f]+", out).group(0)
        # The telephony platform: the client named after the rulebook's voice channel.
        out = self.cli("clients", "add", "voice", "--rules", str(ROOT / "rules"))
        self.voice_key = re.search(r"spk_[0-9a-f]+_[0-9a-f]+", out).group(0)
        self.log = open(self.dir / "server.log", "w")
        self.proc = subprocess.Popen(
            [str(BIN), "serve", "--listen", f"127.0.0.1:{self.port}", "--data", str(self.dir),
             "--rules", str(ROOT / "rules")],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(self.url + "/health", timeout=1)
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"Sportello did not start; see {self.dir / 'server.log'}")
                time.sleep(0.2)
        self.started = time.time()
        self.mail_token = (self.dir / "mail-token.txt").read_text().strip()

    def cli(self, *args) -> str:
        done = subprocess.run([str(BIN), *args], env=self.env, capture_output=True, text=True, cwd=self.dir)
        if done.returncode != 0:
            raise RuntimeError(f"sportello {' '.join(args)}: {done.stderr}")
        return done.stdout + done.stderr

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- HTTP, as the channels and targets call it
    def http(self, method, path, body=None, headers=None, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        h = {"content-type": "application/json", **(headers or {})}
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                text = r.read().decode()
                return r.status, (json.loads(text) if text.startswith(("{", "[")) else text)
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            return e.code, (json.loads(text) if text.startswith("{") else text)

    def call(self, menu, caller="+390612345678"):
        status, body = self.http("POST", "/voice/calls",
                                 {"call_id": f"call-{uuid.uuid4().hex}", "caller": caller, "menu": menu},
                                 headers={"authorization": f"Bearer {self.voice_key}"})
        assert status in (200, 201), body
        return body["reference"]

    def mail(self, subject, text, sender="giulia.bianchi@example.com", attachment=("ricevuta.pdf", b"%PDF-1.4 demo")):
        boundary = "b-" + uuid.uuid4().hex
        name, content = attachment
        import base64
        raw = (
            f"From: Giulia Bianchi <{sender}>\r\nTo: assistenza@sportello.pagopa.it\r\n"
            f"Subject: {subject}\r\nMessage-ID: <{uuid.uuid4().hex}@mail.example.com>\r\n"
            f"Date: Mon, 07 Dec 2026 09:58:00 +0100\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n"
            f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
            f"--{boundary}\r\nContent-Type: application/pdf; name=\"{name}\"\r\n"
            f"Content-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            f"{base64.b64encode(content).decode()}\r\n--{boundary}--\r\n"
        ).encode()
        status, body = self.http("POST", "/email/inbound", raw=raw, headers={
            "content-type": "message/rfc822", "x-sportello-mail-token": self.mail_token})
        assert status in (200, 201, 202), body
        return body["reference"]

    def api_ticket(self, subcategory, subject, message, category=None, fields=None):
        body = {
            "category": category or ("io_privacy" if subcategory.startswith("privacy") else "io_pagamenti_pagopa"),
            "subcategory": subcategory, "subject": subject, "message": message,
            "requester": {"name": "Mario Rossi", "email": "mario.rossi@example.it", "fiscal_code": "RSSMRA85T10A562S"},
            "fields": fields or {"notice_code": "302001234567890123", "creditor_fiscal_code": "15376371009",
                                 "app_version": "2.71.0"},
        }
        status, out = self.http("POST", "/api/v1/tickets", body, headers={
            "authorization": f"Bearer {self.api_key}", "idempotency-key": uuid.uuid4().hex})
        assert status in (200, 201), out
        return out["reference"]

    def notice(self, target, reference, text):
        # A notice answers one escalation: the target quotes the escalation_id it received.
        status, ticket = self.operator_api(next(iter(self.tokens)), "GET", f"/operator/tickets/{reference}")
        if status != 200:
            status, ticket = self.operator_api("priv-201", "GET", f"/operator/tickets/{reference}")
        escalation = next(e for e in ticket["ticket"]["escalations"] if e["target"] == target and not e.get("notice_at"))
        body = json.dumps({"reference": reference, "notice": text,
                           "escalation_id": escalation["escalation_id"]}).encode()
        # The server's clock is set (SPORTELLO_CLOCK_START) and checks signatures against it.
        ts = str(self.server_now())
        sig = hmac.new(self.secrets[target].encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
        status, out = self.http("POST", f"/operator/targets/{target}/notices", raw=body, headers={
            "x-sportello-timestamp": ts, "x-sportello-signature": f"sha256={sig}"})
        assert status == 200, out
        return out

    def server_now(self) -> int:
        # CLOCK_START plus the time since the server started, as its clock counts.
        from datetime import datetime
        start = datetime.fromisoformat(CLOCK_START).timestamp()
        return int(start + (time.time() - self.started))

    def operator_api(self, who, method, path, body=None):
        return self.http(method, path, body, headers={"authorization": f"Bearer {self.tokens[who]}"})


@pytest.fixture(scope="session")
def sportello():
    s = Sportello()
    yield s
    s.stop()


@pytest.fixture(scope="session", autouse=True)
def fresh_screenshots():
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def new_page(browser):
    """Pages in fresh browser contexts (one per person): Italian, a desk-sized window."""
    contexts = []

    def make(locale="it-IT"):
        ctx = browser.new_context(viewport={"width": 1440, "height": 900}, locale=locale)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for c in contexts:
        c.close()


AXE = Axe()
_shots = {"n": 0}


def look(page: Page, name: str):
    """Every page: axe-core finds no violation, and a full-page screenshot is kept."""
    page.wait_for_load_state("load")
    result = AXE.run(page)
    violations = result.response.get("violations", [])
    SHOTS.mkdir(parents=True, exist_ok=True)
    _shots["n"] += 1
    page.screenshot(path=str(SHOTS / f"{_shots['n']:02d}-{name}.png"), full_page=True)
    assert not violations, f"axe-core on {name}: " + "; ".join(
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes: {[n['target'] for n in v['nodes']][:3]})" for v in violations)


def sign_in(page: Page, sportello: Sportello, who: str):
    page.goto(sportello.url + "/")
    page.get_by_label("Token di operatore").fill(sportello.tokens[who])
    page.get_by_role("button", name="Accedi").click()
    page.wait_for_url(re.compile(r"/queue"))
