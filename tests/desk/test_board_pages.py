"""The board's pages over HTTP on loopback: order, paging, ACK, notes, rejects, escaping, UTF-8."""

from __future__ import annotations

import re

import pytest
from board_helpers import NOW, Client, FakeApi, RejectView, Running, memory_db

from hubdesk.board import app

EVIL = '<script>alert("x")</script>&<b onmouseover=x>'


@pytest.fixture
def api():
    a = FakeApi()
    a.add_flat("Z-ok", "ok", last_heartbeat=NOW - 3600)
    a.add_flat("B-fault", "fault", since=NOW - 7200, headline="sensor kitchen silent for 9h")
    a.add_flat("C-silent", "silent", since=NOW - 30 * 3600, headline="no heartbeat for 30h")
    a.add_flat("A-alarm", "alarm", since=NOW - 600, headline="no activity for 2h05m")
    a.add_alert("A-alarm", 7, text="hubd A-alarm: no activity for 2h05m. Alert 7. Reply ACK 7")
    return a


@pytest.fixture
def client(api):
    run = Running(memory_db(), api=api)
    c = Client(run.port)
    c.log_in()
    yield c
    run.stop()


def flats_in_order(body: str) -> list[str]:
    return re.findall(r'<tr class="\w+" data-flat="([^"]+)"', body)


def test_board_lists_flats_by_urgency_with_counts_and_refreshes(client):
    r = client.get("/")
    assert r.status == 200
    assert flats_in_order(r.body) == ["A-alarm", "C-silent", "B-fault", "Z-ok"]
    for state in ("alarm", "silent", "fault", "ok"):
        assert re.search(rf'id="count-{state}"><span class="n">1</span>', r.body), state
    assert '<meta http-equiv="refresh" content="30">' in r.body
    assert 'class="alarm" data-flat="A-alarm"' in r.body and 'class="silent" data-flat="C-silent"' in r.body
    assert "for 1d 6h" in r.body  # the silent hub's time in its state


def test_pages_are_utf8_html_with_a_lang_and_safety_headers(client):
    r = client.get("/")
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<html lang="en">' in r.body and '<meta charset="utf-8">' in r.body
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["Cache-Control"] == "no-store" and r.headers["X-Frame-Options"] == "DENY"
    css = client.get("/board.css")
    assert css.status == 200 and css.headers["Content-Type"].startswith("text/css") and "--red" in css.body


def test_paging_through_ten_thousand_flats():
    api = FakeApi()
    for i in range(10_000):
        api.add_flat(f"F-{i:05d}", "alarm" if i % 1000 == 0 else "ok", since=NOW - i)
    run = Running(memory_db(), api=api)
    try:
        c = Client(run.port)
        c.log_in()
        first = c.get("/")
        assert "Page 1 of 100" in first.body and 'href="/?page=2"' in first.body
        assert len(flats_in_order(first.body)) == app.PAGE_SIZE
        assert flats_in_order(first.body)[:10] == [f"F-{i:05d}" for i in range(9000, -1, -1000)]
        assert re.search(r'id="count-ok"><span class="n">9,990</span>', first.body)
        last = c.get("/?page=100")
        assert "Page 100 of 100" in last.body and "Next" not in last.body
        assert c.get("/?page=101").location == "/?page=100"
        for bad in ("0", "-1", "x", "%EF%BC%91", "1" * 12):
            r = c.get(f"/?page={bad}")
            assert r.status == 400 and "whole number" in r.body, bad
    finally:
        run.stop()


def test_flat_page_shows_open_alert_with_ack_button_and_missed_texts(client, api):
    api.add_flat("D-gaps", "fault", since=NOW - 100, missed=4)
    r = client.get("/flat/A-alarm")
    assert r.status == 200 and '<meta http-equiv="refresh"' in r.body
    assert 'action="/flat/A-alarm/ack"' in r.body and 'name="ref" value="7"' in r.body
    assert "Reply ACK 7" in r.body and "sent to +8190 (round 1)" in r.body
    assert 'id="missed">1–4<' in client.get("/flat/D-gaps").body


def test_ack_records_the_staff_name_and_shows_it(client, api):
    csrf = client.get("/flat/A-alarm").csrf()
    r = client.post("/flat/A-alarm/ack", {"csrf": csrf, "ref": "7"})
    assert r.status == 303 and r.location == "/flat/A-alarm#alert-7"
    assert api.acks == [(7, "alice", NOW)]
    page = client.get("/flat/A-alarm").body
    assert "ACK by alice" in page and 'name="ref" value="7"' not in page


def test_a_refused_ack_is_shown_not_crashed(client, api):
    csrf = client.get("/flat/A-alarm").csrf()
    client.post("/flat/A-alarm/ack", {"csrf": csrf, "ref": "7"})
    again = client.post("/flat/A-alarm/ack", {"csrf": csrf, "ref": "7"})
    assert again.status == 409 and "already acknowledged by alice" in again.body
    bad = client.post("/flat/A-alarm/ack", {"csrf": csrf, "ref": "7; DROP"})
    assert bad.status == 400 and "whole number" in bad.body
    assert len(api.acks) == 1


def test_note_form_does_not_refresh_and_a_note_lands_in_the_timeline(client, api):
    form = client.get("/flat/A-alarm/note")
    assert form.status == 200 and "http-equiv" not in form.body, "no refresh under someone typing"
    assert "http-equiv" not in Client(client.port).get("/login").body
    r = client.post("/flat/A-alarm/note", {"csrf": form.csrf(), "text": "  Called the resident, all well.  "})
    assert r.status == 303 and r.location == "/flat/A-alarm#timeline"
    assert api.notes == [("A-alarm", "alice", "Called the resident, all well.", NOW)]
    page = client.get("/flat/A-alarm").body
    assert "Called the resident, all well." in page and "<td>alice</td>" in page


def test_an_empty_or_long_note_is_refused_and_the_text_kept(client, api):
    csrf = client.get("/flat/A-alarm/note").csrf()
    empty = client.post("/flat/A-alarm/note", {"csrf": csrf, "text": "   "})
    assert empty.status == 400 and "The note is empty." in empty.body
    long = client.post("/flat/A-alarm/note", {"csrf": csrf, "text": "x" * 2001})
    assert long.status == 400 and "longer than 2000" in long.body and "x" * 2001 in long.body
    unknown = client.post("/flat/NOPE/note", {"csrf": csrf, "text": "hi"})
    assert unknown.status == 400 and "no flat NOPE" in unknown.body
    assert api.notes == []


def test_unknown_flat_and_page_are_404_and_wrong_methods_405(client):
    assert client.get("/flat/NOPE").status == 404
    assert client.get("/flat/NOPE/note").status == 404
    assert client.get("/nowhere").status == 404
    assert client.post("/", {"csrf": client.get("/").csrf()}).status == 405


def test_untrusted_texts_are_escaped_everywhere(client, api):
    api.add_flat("E-1", "alarm", since=NOW, headline=EVIL)
    api.add_alert("E-1", 9, text=EVIL)
    api.reject_rows.append(RejectView(NOW, EVIL, EVIL, "damaged tag"))
    csrf = client.get("/").csrf()
    client.post("/flat/E-1/note", {"csrf": csrf, "text": EVIL})
    for path in ("/", "/flat/E-1", "/rejects"):
        body = client.get(path).body
        assert "<script>" not in body and "<b onmouseover" not in body, path
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;" in body, path
    bad = client.post("/flat/E-1/note", {"csrf": csrf, "text": EVIL + "y" * 2000})
    assert "<script>" not in bad.body


def test_a_flat_name_cannot_escape_its_path_segment(client, api):
    api.add_flat("a/b?c", "ok")
    body = client.get("/").body
    assert 'href="/flat/a%2Fb%3Fc"' in body
    assert client.get("/flat/a%2Fb%3Fc").status == 200


def test_japanese_hub_text_displays(client, api):
    ja = "hubd A-alarm: 2時間5分活動なし。警報8。ACK 8 と返信してください"
    api.add_alert("A-alarm", 8, text=ja)
    r = client.get("/flat/A-alarm")
    assert ja in r.body
    assert ja.encode("utf-8") in r.body.encode("utf-8")
    csrf = r.csrf()
    client.post("/flat/A-alarm/note", {"csrf": csrf, "text": "本人に電話、無事"})
    assert "本人に電話、無事" in client.get("/flat/A-alarm").body


def test_rejects_page_lists_reason_sender_and_text(client, api):
    api.reject_rows.append(RejectView(NOW - 60, "+819012345678", "hello there", "not from a hub"))
    r = client.get("/rejects")
    assert r.status == 200 and '<meta http-equiv="refresh"' in r.body
    assert "not from a hub" in r.body and "+819012345678" in r.body and "hello there" in r.body


def test_malformed_requests_get_a_clear_400(client):
    csrf = client.get("/").csrf()
    json_post = client.request("POST", "/flat/A-alarm/note", body=b'{"text": "x"}',
                               headers={"Content-Type": "application/json"})
    assert json_post.status == 400 and "x-www-form-urlencoded" in json_post.body
    big = client.request("POST", "/flat/A-alarm/note", body=b"x" * 70_000,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert big.status == 400 and "larger than" in big.body
    bad_utf8 = client.request("POST", "/flat/A-alarm/note", body=b"csrf=" + csrf.encode() + b"&text=\xff",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert bad_utf8.status == 400


def test_a_failing_page_is_a_500_and_the_server_lives_on(client, api):
    def broken(*a, **k):
        raise RuntimeError("database gone")
    api.rejects = broken
    r = client.get("/rejects")
    assert r.status == 500 and "database gone" not in r.body
    assert client.get("/").status == 200


def test_an_idle_connection_is_closed_and_others_are_served_meanwhile():
    import socket
    import time

    run = Running(memory_db(), api=FakeApi(), request_timeout=0.3)
    try:
        idle = socket.create_connection(("127.0.0.1", run.port), timeout=5)
        assert Client(run.port).get("/login").status == 200, "served while another connection idles"
        deadline = time.monotonic() + 5
        assert idle.recv(1) == b"", "the server closed the idle connection"
        assert time.monotonic() < deadline
        idle.close()
    finally:
        run.stop()


def test_a_post_without_length_is_refused_and_the_connection_closed(client):
    r = client.request("POST", "/flat/A-alarm/note", headers={"Content-Type": "application/x-www-form-urlencoded",
                                                              "Transfer-Encoding": "chunked"}, body=b"0\r\n\r\n")
    assert r.status == 400 and "Content-Length" in r.body
    assert r.headers["Connection"] == "close"
