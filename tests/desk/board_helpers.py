"""Helpers for the board's tests: a small fake of the board API, a real server on loopback, an
HTTP client that keeps cookies and never follows redirects (so each test sees every step), and a
real headless Chromium (the ``browser`` fixture)."""

from __future__ import annotations

import http.client
import re
import shutil
import threading
from dataclasses import dataclass, replace
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest

from hubdesk.board import add_user, make_server
from hubdesk.board_api import AlertView, DeskError, FlatDetail, FlatSummary, RejectView, TimelineEntry  # noqa: F401
from hubdesk.db import Database

NOW = 1_796_000_000.0  # a fixed "now" (2026-11-30), so times on pages are predictable
PASSWORD = "correct horse battery"


# --- a fake board API: the real one's shapes (hubdesk.board_api), in memory ---------------------
URGENCY = {"alarm": 0, "silent": 1, "fault": 2, "ok": 3}


class FakeApi:
    """In-memory flats, alerts and notes; records every call that changes something."""

    DeskError = DeskError

    def __init__(self):
        self.flats: dict[str, FlatSummary] = {}
        self.alerts: dict[int, AlertView] = {}
        self.notes: list[tuple[str, str, str, float]] = []
        self.reject_rows: list[RejectView] = []
        self.acks: list[tuple[int, str, float]] = []

    def add_flat(self, flat, state="ok", since=None, headline="all fine", missed=0, last_heartbeat=None):
        self.flats[flat] = FlatSummary(flat, state, URGENCY[state], since, last_heartbeat, last_heartbeat,
                                       0, missed, headline)

    def add_alert(self, flat, ref, type="inactivity", category="resident", text="", opened=NOW - 3600):
        self.alerts[ref] = AlertView(ref, flat, type, category, ref, opened, None, None, None, "sent to +8190 (round 1)",
                                     text)
        f = self.flats[flat]
        self.flats[flat] = replace(f, open_alerts=f.open_alerts + 1)

    # the API
    def flats_by_urgency(self, db, now, limit=100, offset=0):
        order = sorted(self.flats.values(), key=lambda f: (f.urgency, f.since or 0, f.flat))
        return order[offset:offset + limit]

    def state_counts(self, db, now):
        counts = {k: 0 for k in URGENCY}
        for f in self.flats.values():
            counts[f.state] += 1
        return counts

    def flat_detail(self, db, flat, now, limit=200):
        if flat not in self.flats:
            return None
        alerts = sorted((a for a in self.alerts.values() if a.flat == flat), key=lambda a: (a.closed is not None, a.ref))
        timeline = [TimelineEntry(at, "note", text, by) for f, by, text, at in self.notes if f == flat]
        timeline += [TimelineEntry(a.acked_at, "ack", f"alert {a.ref} acknowledged", a.acked_by)
                     for a in alerts if a.acked_at]
        timeline.sort(key=lambda t: -t.at)
        missed = list(range(1, self.flats[flat].missed + 1))
        return FlatDetail(self.flats[flat], alerts, timeline[:limit], missed)

    def rejects(self, db, limit=100):
        return self.reject_rows[:limit]

    def ack(self, db, ref, user, now):
        if ref not in self.alerts:
            raise DeskError(f"no alert {ref}")
        a = self.alerts[ref]
        if a.acked_at is not None:
            raise DeskError(f"already acknowledged by {a.acked_by}")
        self.alerts[ref] = replace(a, acked_by=user, acked_at=now, duty_stage="acknowledged")
        self.acks.append((ref, user, now))
        return self.alerts[ref]

    def add_note(self, db, flat, user, text, now):
        if flat not in self.flats:
            raise DeskError(f"no flat {flat}")
        self.notes.append((flat, user, text, now))


# --- a real server -------------------------------------------------------------------------
class Running:
    """A board served on 127.0.0.1:<free port> from a thread; ``stop()`` ends it."""

    def __init__(self, db, api=None, clock=lambda: NOW, **options):
        self.server = make_server(db, "127.0.0.1", 0, api=api, clock=clock, **options)
        self.url = self.server.url
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), name="board", daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def memory_db(user: str | None = "alice") -> Database:
    db = Database.open_sqlite(":memory:")
    if user:
        add_user(db, user, PASSWORD, now=NOW)
    return db


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: str

    @property
    def location(self) -> str | None:
        return self.headers.get("Location")

    def csrf(self) -> str:
        m = re.search(r'name="csrf" value="([^"]+)"', self.body)
        assert m, "no CSRF field on the page"
        return m.group(1)


class Client:
    """One browser: cookies kept, redirects returned as they are."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.set_cookie_headers: list[str] = []

    def request(self, method: str, path: str, form: dict | None = None, headers: dict | None = None,
                body: bytes | None = None) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        hdrs = dict(headers or {})
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            body = urlencode(form).encode()
            hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        text = resp.read().decode("utf-8")
        for raw in resp.headers.get_all("Set-Cookie") or []:
            self.set_cookie_headers.append(raw)
            for name, morsel in SimpleCookie(raw).items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        conn.close()
        return Reply(resp.status, resp.headers, text)

    def get(self, path: str, **kw) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, form: dict, **kw) -> Reply:
        return self.request("POST", path, form=form, **kw)

    def log_in(self, name: str = "alice", password: str = PASSWORD) -> Reply:
        form = self.get("/login")
        return self.post("/login", {"csrf": form.csrf(), "name": name, "password": password, "next": "/"})


# --- a real desk with a few flats in every state --------------------------------------------
T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC: the flats are registered
OFFICE = "office1"


class Clock:
    def __init__(self, t: float):
        self.t = t

    def __call__(self) -> float:
        return self.t


def hub(n: int) -> str:
    return f"+8190{n:08d}"


def _inbox(db, sender: str, text: str, at: float) -> None:
    """A received SMS as gammu-smsd stores it (decoded text, unprocessed)."""
    from hubdesk.gammu import store_received
    store_received(db, sender, text, at, OFFICE)


def real_desk(where, user: str = "alice"):
    """A desk database (A's intake and rules, through gammu's inbox) with flats in each state:
    A-101 an alarm (en), A-102 an alarm (ja), B-201 a silent hub, C-301 a sensor fault, D-401
    missed texts, E-5xx fine; and two rejected texts. ``where``: an SQLite path or an open
    Database (PostgreSQL). Returns (db, clock, desk)."""
    from hubd.sms_tag import Tag, tagged
    from hubdesk.config import parse
    from hubdesk.desk import Desk, prepare

    ids = ["A-101", "A-102", "B-201", "C-301", "D-401"] + [f"E-5{i:02d}" for i in range(1, 9)]
    phone = {flat: hub(i + 1) for i, flat in enumerate(ids)}
    cfg = parse({"flats": [{"id": f, "phone": phone[f]} for f in ids],
                 "duty": {"numbers": ["+819099990001", "+819099990002"]}})
    db = Database.open_sqlite(where) if isinstance(where, str) else where
    clock = Clock(T0)
    prepare(db, cfg, T0)
    add_user(db, user, PASSWORD, now=T0)
    desk = Desk(db, cfg, clock)
    seq = {f: 0 for f in ids}

    def send(flat, kind, words, alert=None, at=None, jump=0):
        seq[flat] += 1 + jump
        _inbox(db, phone[flat], tagged(f"hubd {flat}: {words}", Tag(flat, kind, alert, seq[flat])), at or clock.t)

    def run():
        while desk.step().taken:
            pass

    clock.t = T0 + 20 * 3600  # everyone but B-201 sends a heartbeat
    for f in ids:
        if f != "B-201":
            send(f, "heartbeat", "alive. Last activity Jan 16 03:50. Mode watching. Open alerts 0. Signal 3/4. Unsent SMS 0"
                 if not f.startswith("A-102") else "稼働中。最終活動1/16 03:50。見守り中。警報0件。電波3/4。未送信0件")
    run()
    clock.t = T0 + 25 * 3600
    send("C-301", "sensor_fault", "sensor kitchen_pir faulty (stuck). Alert 4", alert=4)
    send("D-401", "status", "watching. No activity for 0h20m (limit 2h00m). Open alerts 0", jump=2)
    _inbox(db, "+819012345678", "Hello, is this the housing office? Please call me <b>back</b>", clock.t)
    _inbox(db, phone["E-501"], "hubd E-501: alive #E-501.h", clock.t)
    run()
    clock.t = T0 + 27 * 3600
    send("A-101", "inactivity", "no activity for 2h05m. Alert 12. Reply ACK 12", alert=12)
    send("A-102", "inactivity", "2時間5分活動なし。警報7。ACK 7 と返信してください", alert=7)
    run()
    clock.t = T0 + 27.5 * 3600
    run()
    return db, clock, desk


# -- a real headless Chromium (Debian's chromium + chromium-driver), driven by Selenium ------------
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_S = 10.0  # every wait polls to this deadline; none sleeps


@pytest.fixture
def browser(tmp_path):
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: apt-get install chromium chromium-driver", pytrace=False)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,860", "--force-device-scale-factor=1",
                "--lang=en-US", f"--user-data-dir={tmp_path / 'chromium'}"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(WAIT_S)
    yield driver
    driver.quit()


def log_in_browser(browser, url: str, name: str = "alice", password: str = PASSWORD):
    """Log in on the board at ``url`` and wait for the flats; the rows of the flats table."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, WAIT_S, poll_frequency=0.05)
    browser.get(url + "/")
    wait.until(ec.url_contains("/login"))
    browser.find_element(By.ID, "name").send_keys(name)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "form.login button").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "table.flats tbody tr")))
    return browser.find_elements(By.CSS_SELECTOR, "table.flats tbody tr")
