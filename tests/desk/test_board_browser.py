"""The board in a real headless Chromium (Debian's ``chromium`` + ``chromium-driver``), over the
real desk: log in, see the flats by urgency, open a flat, ACK its alarm, write a note, see both.

Driven with Selenium 4 through the system chromedriver (``Service`` with its path, so Selenium
never tries to download a driver). ``HUBDESK_SCREENSHOT=docs/img/desk-board.png`` regenerates
the picture in the docs; otherwise the screenshot goes to the test's temporary folder.
"""

from __future__ import annotations

import os

from board_helpers import WAIT_S, Running, browser, log_in_browser, real_desk  # noqa: F401 (browser: a fixture)


def test_log_in_ack_and_note_in_a_real_browser(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    db, clock, _ = real_desk(str(tmp_path / "smsd.db"))
    run = Running(db, api=None, clock=clock, refresh=600)  # no refresh under the test's clicks
    wait = WebDriverWait(browser, WAIT_S, poll_frequency=0.05)
    try:
        rows = log_in_browser(browser, run.url)

        order = [r.get_attribute("data-flat") for r in rows]
        assert order[:5] == ["A-101", "A-102", "B-201", "C-301", "D-401"]
        assert [r.get_attribute("class") for r in rows[:5]] == ["alarm", "alarm", "silent", "fault", "fault"]
        assert browser.find_element(By.ID, "count-alarm").text.startswith("2")
        assert "2時間5分活動なし" in rows[1].text, "a Japanese hub text shows as written"
        red = rows[0].find_element(By.CSS_SELECTOR, "td").value_of_css_property("border-left-color")
        assert red in ("rgba(180, 35, 24, 1)", "rgb(180, 35, 24)"), red

        rows[0].find_element(By.LINK_TEXT, "A-101").click()
        ack = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#open-alerts button.ack")))
        ref = browser.find_element(By.CSS_SELECTOR, "#open-alerts input[name=ref]").get_attribute("value")
        assert ack.text == "Acknowledge"
        ack.click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "open-alerts"), "ACK by alice"))
        assert not browser.find_elements(By.CSS_SELECTOR, "#open-alerts button.ack")
        assert f"alert {ref}" in browser.find_element(By.ID, "timeline").text.lower()

        browser.find_element(By.ID, "write-note").click()
        wait.until(ec.presence_of_element_located((By.ID, "text"))).send_keys("Called Ms Sato: she is fine, fell asleep.")
        browser.find_element(By.CSS_SELECTOR, "main form button.primary").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "timeline"), "Called Ms Sato: she is fine"))
        note_row = browser.find_element(By.CSS_SELECTOR, "#timeline tr.tl-note")
        assert "alice" in note_row.text

        acked = db.query("SELECT acked_by FROM desk_alerts WHERE id = ?", (int(ref),))
        assert acked == [("alice",)], "the ACK reached the desk with the staff name"
        assert db.query('SELECT COUNT(*) FROM outbox WHERE "TextDecoded" = ?', ("ACK 12",))[0][0] == 1, \
            "the desk forwarded ACK 12 to the hub"

        browser.get(run.url + "/")
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "table.flats tbody tr")))
        shot = os.environ.get("HUBDESK_SCREENSHOT") or str(tmp_path / "desk-board.png")
        assert browser.save_screenshot(shot)
        with open(shot, "rb") as fh:
            assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    finally:
        run.stop()
