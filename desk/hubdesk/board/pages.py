"""The board's pages as HTML strings: plain server-rendered markup that works without script.

Each function takes what the board API returned and gives a whole page; every value from the
database is escaped here (``esc``), never trusted to be plain text.
"""

from __future__ import annotations

from datetime import tzinfo

from . import style
from .fmt import STATE_WORDS, ago, esc, flat_url, ranges, span, state_word, type_words, when, zone_name


HERE = ' class="here"'


def _cls(state: str) -> str:
    return state if state in STATE_WORDS else "unknown"


def layout(title: str, body: str, *, user: str | None = None, csrf: str | None = None,
           here: str = "", refresh: int | None = None, footer: str = "") -> str:
    """The frame of every page. ``refresh`` (seconds) only on pages without a form to fill."""
    meta = f'<meta http-equiv="refresh" content="{int(refresh)}">' if refresh else ""
    nav = ""
    if user is not None:
        links = "".join(
            f'<a href="{href}"{HERE if here == key else ""}>{words}</a>'
            for key, href, words in (("board", "/", "Flats"), ("rejects", "/rejects", "Rejected messages")))
        nav = (f'<nav>{links}</nav><div class="who"><span>Signed in as <b>{esc(user)}</b></span>'
               f'<form method="post" action="/logout"><input type="hidden" name="csrf" value="{esc(csrf)}">'
               f'<button type="submit">Log out</button></form></div>')
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'{meta}<title>{esc(title)} · hubdesk</title>'
        f'<link rel="stylesheet" href="{style.PATH}?v={style.VERSION}"></head><body>'
        f'<header class="top"><span class="brand">hubdesk</span>{nav}</header>'
        f'<main>{body}</main>'
        f'{"<footer>" + footer + "</footer>" if footer else ""}</body></html>\n')


def _footer(now: float, tz: tzinfo | None, refresh: int) -> str:
    return (f"Shown at {esc(when(now, now, tz))} ({esc(zone_name(now, tz))}) · "
            f"this page refreshes every {int(refresh)} s")


def _notice(error: str | None, kind: str = "error") -> str:
    return f'<p class="notice {kind}" role="alert">{esc(error)}</p>' if error else ""


def login_page(csrf: str, *, name: str = "", next_path: str = "/", error: str | None = None) -> str:
    body = (
        '<form class="login" method="post" action="/login">'
        '<h1>Office board: log in</h1>'
        f'{_notice(error)}'
        f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
        f'<input type="hidden" name="next" value="{esc(next_path)}">'
        '<label for="name">User name</label>'
        f'<input type="text" id="name" name="name" value="{esc(name)}" autocomplete="username" required autofocus>'
        '<label for="password">Password</label>'
        '<input type="password" id="password" name="password" autocomplete="current-password" required>'
        '<div class="actions"><button class="primary" type="submit">Log in</button></div></form>')
    return layout("Log in", body)


def _counts(counts: dict[str, int]) -> str:
    tiles = "".join(
        f'<div class="count {key}" id="count-{key}"><span class="n">{int(counts.get(key, 0)):,}</span>'
        f'<span class="label">{label}</span></div>'
        for key, label in (("alarm", "Open alarms"), ("silent", "Silent hubs"),
                           ("fault", "Faults"), ("ok", "All fine")))
    return f'<section class="counts">{tiles}</section>'


def board_page(flats, counts: dict[str, int], *, page: int, pages: int, now: float,
               tz: tzinfo | None, user: str, csrf: str, refresh: int) -> str:
    """``/``: every flat, most urgent first, with the count of each state at the top."""
    rows = []
    for f in flats:
        c = _cls(f.state)
        since = f"for {span(now - f.since)}" if f.since is not None else ""
        rows.append(
            f'<tr class="{c}" data-flat="{esc(f.flat)}">'
            f'<td><span class="badge {c}">{esc(state_word(f.state))}</span></td>'
            f'<td class="flat nowrap"><a href="{esc(flat_url(f.flat))}">{esc(f.flat)}</a></td>'
            f'<td class="text">{esc(f.headline)}</td>'
            f'<td class="nowrap">{esc(since)}</td>'
            f'<td class="nowrap" title="{esc(when(f.last_heartbeat, now, tz))}">{esc(ago(f.last_heartbeat, now))}</td>'
            f'<td class="num">{int(f.open_alerts)}</td>'
            f'<td class="num">{int(f.missed)}</td></tr>')
    if not rows:
        rows.append('<tr><td colspan="7" class="muted">No flats on this page.</td></tr>')
    table = (
        '<table class="flats"><thead><tr><th>State</th><th>Flat</th><th>What</th><th>Since</th>'
        '<th>Last heartbeat</th><th class="num">Open alerts</th><th class="num">Missed</th>'
        f'</tr></thead><tbody>{"".join(rows)}</tbody></table>')
    pager = ""
    if pages > 1:
        prev = f'<a href="/?page={page - 1}" rel="prev">← Previous</a>' if page > 1 else ""
        nxt = f'<a href="/?page={page + 1}" rel="next">Next →</a>' if page < pages else ""
        pager = f'<nav class="pager">{prev}<span>Page {page} of {pages}</span>{nxt}</nav>'
    body = f'<h1>Flats by urgency</h1>{_counts(counts)}{table}{pager}'
    footer = _footer(now, tz, refresh)
    return layout("Flats", body, user=user, csrf=csrf, here="board", refresh=refresh, footer=footer)


def _alert_rows(alerts, now: float, tz: tzinfo | None, csrf: str, flat: str) -> str:
    rows = []
    for a in alerts:
        if a.closed is None and a.acked_at is None:
            action = (f'<form method="post" action="{esc(flat_url(flat, "/ack"))}">'
                      f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
                      f'<input type="hidden" name="ref" value="{int(a.ref)}">'
                      f'<button class="ack" type="submit" title="acknowledge desk alert {int(a.ref)}">Acknowledge</button></form>')
        elif a.acked_at is not None:
            action = f'ACK by {esc(a.acked_by)}<br><span class="muted">{esc(when(a.acked_at, now, tz))}</span>'
        else:
            action = '<span class="muted">not acknowledged</span>'
        state = "open" if a.closed is None else f"closed {when(a.closed, now, tz)}"
        cls = ("alarm" if a.category == "resident" else "fault") if a.closed is None else "ok"
        rows.append(
            f'<tr class="{cls}" id="alert-{int(a.ref)}"><td class="num">{int(a.ref)}</td>'
            f'<td>{esc(type_words(a.type))}<br><span class="muted">{esc(a.category)}'
            f'{"" if a.hub_alert_id is None else " · hub alert " + str(int(a.hub_alert_id))}</span></td>'
            f'<td class="nowrap">{esc(when(a.opened, now, tz))}<br><span class="muted">{esc(state)}</span></td>'
            f'<td>{esc(a.duty_stage)}</td><td class="text" lang="">{esc(a.text)}</td><td>{action}</td></tr>')
    return "".join(rows)


def flat_page(detail, *, now: float, tz: tzinfo | None, user: str, csrf: str, refresh: int,
              error: str | None = None, done: str | None = None) -> str:
    """``/flat/<id>``: what is open (with ACK), missed texts, and the timeline, newest first."""
    s = detail.summary
    c = _cls(s.state)
    facts = (
        '<dl class="facts">'
        f'<dt>Now</dt><dd>{esc(s.headline)}</dd>'
        f'<dt>Since</dt><dd>{esc(when(s.since, now, tz))}</dd>'
        f'<dt>Last heartbeat</dt><dd>{esc(when(s.last_heartbeat, now, tz))} ({esc(ago(s.last_heartbeat, now))})</dd>'
        f'<dt>Last message</dt><dd>{esc(when(s.last_message, now, tz))} ({esc(ago(s.last_message, now))})</dd>'
        f'<dt>Missed texts</dt><dd id="missed">{esc(ranges(detail.missed_seq)) or "none"}</dd></dl>')
    open_alerts = [a for a in detail.alerts if a.closed is None]
    closed = [a for a in detail.alerts if a.closed is not None]
    head = ('<thead><tr><th class="num">No.</th><th>Type</th><th>Opened</th><th>Duty</th>'
            '<th>Text</th><th>ACK</th></tr></thead>')
    alerts_html = (f'<table class="alerts" id="open-alerts">{head}<tbody>'
                   f'{_alert_rows(open_alerts, now, tz, csrf, s.flat)}</tbody></table>'
                   if open_alerts else '<p class="muted" id="open-alerts">No open alerts.</p>')
    closed_html = (f'<h2>Recently closed alerts</h2><table class="alerts">{head}<tbody>'
                   f'{_alert_rows(closed, now, tz, csrf, s.flat)}</tbody></table>' if closed else "")
    lines = "".join(
        f'<tr class="tl-{esc(t.what)}"><td>{esc(when(t.at, now, tz))}</td><td>{esc(t.what.replace("_", " "))}</td>'
        f'<td class="text" lang="">{esc(t.text)}</td><td>{esc(t.by or "")}</td></tr>' for t in detail.timeline)
    timeline = (f'<table class="timeline" id="timeline"><thead><tr><th>When</th><th>What</th><th>Text</th>'
                f'<th>By</th></tr></thead><tbody>{lines}</tbody></table>'
                if lines else '<p class="muted" id="timeline">Nothing recorded yet.</p>')
    body = (
        f'<p><a href="/">← All flats</a></p>'
        f'<h1>Flat {esc(s.flat)} <span class="badge {c}">{esc(state_word(s.state))}</span></h1>'
        f'{_notice(error)}{_notice(done, "info")}{facts}'
        f'<h2>Open alerts</h2>{alerts_html}{closed_html}'
        f'<h2>Notes</h2><p><a href="{esc(flat_url(s.flat, "/note"))}" id="write-note">Write a note</a>'
        ' <span class="muted">(notes appear in the timeline below)</span></p>'
        f'<h2>Timeline</h2>{timeline}')
    footer = _footer(now, tz, refresh)
    return layout(f"Flat {s.flat}", body, user=user, csrf=csrf, here="flat", refresh=refresh, footer=footer)


def note_page(flat: str, *, user: str, csrf: str, text: str = "", error: str | None = None) -> str:
    """``/flat/<id>/note``: the note form, on a page of its own that never refreshes under the typist."""
    body = (
        f'<p><a href="{esc(flat_url(flat))}">← Flat {esc(flat)}</a></p>'
        f'<h1>Note for flat {esc(flat)}</h1>{_notice(error)}'
        f'<form method="post" action="{esc(flat_url(flat, "/note"))}">'
        f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
        '<label for="text">Note (recorded with your name)</label>'
        f'<textarea id="text" name="text" required maxlength="2000">{esc(text)}</textarea>'
        '<div class="actions"><button class="primary" type="submit">Save note</button>'
        f'<a href="{esc(flat_url(flat))}">Cancel</a></div></form>')
    return layout(f"Note for {flat}", body, user=user, csrf=csrf, here="flat")


def rejects_page(rejects, *, now: float, tz: tzinfo | None, user: str, csrf: str, refresh: int) -> str:
    """``/rejects``: texts the desk recorded and did not use, with the reason."""
    rows = "".join(
        f'<tr><td>{esc(when(r.at, now, tz))}</td><td>{esc(r.sender)}</td><td>{esc(r.reason)}</td>'
        f'<td class="text" lang="">{esc(r.text)}</td></tr>' for r in rejects)
    table = (f'<table id="rejects"><thead><tr><th>When</th><th>From</th><th>Reason</th><th>Text</th></tr>'
             f'</thead><tbody>{rows}</tbody></table>' if rows
             else '<p class="muted" id="rejects">No rejected messages.</p>')
    body = ('<h1>Rejected messages</h1><p class="muted">Texts that reached the office number but were not '
            'used: not from a hub, a damaged tag, an unknown flat, or an old message sent again.</p>' + table)
    footer = _footer(now, tz, refresh)
    return layout("Rejected messages", body, user=user, csrf=csrf, here="rejects", refresh=refresh, footer=footer)


def logout_page(*, user: str, csrf: str) -> str:
    body = ('<h1>Log out</h1><form method="post" action="/logout">'
            f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
            '<button class="primary" type="submit">Log out</button></form>')
    return layout("Log out", body, user=user, csrf=csrf)


def error_page(title: str, message: str, *, user: str | None = None, csrf: str | None = None) -> str:
    body = f'<h1>{esc(title)}</h1>{_notice(message)}<p><a href="/">Back to the flats</a></p>'
    return layout(title, body, user=user, csrf=csrf)
