"""How the board words times and numbers (short, in the office's zone) and escapes values."""

from __future__ import annotations

from datetime import timezone, timedelta

from hubdesk.board import fmt

JST = timezone(timedelta(hours=9))
NOW = 1_796_000_000.0  # 2026-11-30 00:53 UTC


def test_span_and_ago():
    assert [fmt.span(s) for s in (-5, 45, 12 * 60, 3 * 3600 + 5 * 60, 4 * 86400 + 2 * 3600)] == \
        ["0s", "45s", "12m", "3h 05m", "4d 2h"]
    assert fmt.ago(None, NOW) == "never"
    assert fmt.ago(NOW - 90, NOW) == "1m ago"
    assert fmt.ago(NOW + 3600, NOW) == "in the future"


def test_when_in_the_offices_zone_with_the_year_only_when_it_differs():
    assert fmt.when(NOW, NOW, timezone.utc) == "11-30 00:53"
    assert fmt.when(NOW, NOW, JST) == "11-30 09:53"
    assert fmt.when(NOW - 365 * 86400, NOW, timezone.utc) == "2025-11-30 00:53"
    assert fmt.when(None, NOW, JST) == "—"


def test_ranges_of_missed_numbers():
    assert fmt.ranges([]) == ""
    assert fmt.ranges([9, 3, 7, 8, 12, 8]) == "3, 7–9, 12"


def test_escape_and_flat_url():
    assert fmt.esc('<a href="x">&\'') == "&lt;a href=&quot;x&quot;&gt;&amp;&#x27;"
    assert fmt.esc(None) == ""
    assert fmt.flat_url("A-1", "/note") == "/flat/A-1/note"
    assert fmt.flat_url('"><x', "") == "/flat/%22%3E%3Cx"


def test_type_words():
    assert fmt.type_words("hub_silent") == "hub silent"
    assert fmt.type_words("resolved:not_returned") == "not returned resolved"


def test_the_zone_is_named_and_an_unknown_zone_refused():
    import pytest

    tokyo = fmt.timezone_named("Asia/Tokyo")
    assert fmt.when(NOW, NOW, tokyo) == "11-30 09:53" and fmt.zone_name(NOW, tokyo) == "JST"
    assert fmt.timezone_named("") is None and fmt.zone_name(NOW, None)
    with pytest.raises(ValueError, match="not a known time zone"):
        fmt.timezone_named("Mars/Olympus")
