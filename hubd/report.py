"""``hubctl report``: one page picturing the resident's month, for a technician's visit or a
family conversation in the flat.

Why a picture: ``hubctl profile`` draws the rhythm for a terminal; a person deciding with the
resident whether life is going well wants to see the days side by side, when the hub would
worry, what it raised, and whether the rhythm is drifting. The page is a file on the hub (or
the technician's laptop): nothing leaves the flat unless a person copies it. Drawn with
matplotlib, an optional extra (``pip install 'hubd[report]'``), since a hub needs none of it
to watch.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections import Counter
from typing import Any, Iterable

import numpy as np

from .core.messages import hour_of_day
from .detector import rhythm
from .events import Event, EventBatch, format_local, parse_time
from . import hubctl_text
from .hubctl_text import tr, word

DAY = 86400.0
SLOT_MINUTES = 30
# Japanese fonts a Pi or a laptop may have (apt: fonts-ipaexfont-gothic, fonts-noto-cjk, fonts-takao-gothic)
JAPANESE_FONT_FILES = ("ipaexg", "ipag", "notosanscjk", "notosansjp", "takaogothic", "fonts-japanese-gothic")


class ReportUnavailable(Exception):
    """The report cannot be drawn here (no plotting library); the message says how to get it."""


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ReportUnavailable("hubctl report draws with matplotlib, which is not installed: "
                                "pip install 'hubd[report]' (or apt install python3-matplotlib)") from None
    matplotlib.use("Agg")  # a file, never a window
    import matplotlib.pyplot as plt

    return plt


def summarise(events: Iterable[Event], since_local: float, now_local: float,
              alerts: list[dict[str, Any]], reports: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """What the page shows, as data: activity per day and slot, rhythm metrics, drift, alerts.

    ``reports``: the hub's own drift reports (``hubctl rhythm``'s, judged on its daily records):
    those judged in the window are the drift shown. Without them (no hub to ask) the drift is
    computed from the events, week against week (``rhythm.rhythm_drift``)."""
    events = list(events)
    day0 = math.floor(since_local / DAY) * DAY
    n_days = max(1, int(math.ceil((now_local - day0) / DAY)))
    times = rhythm.activity_local_times(EventBatch.from_events(events)) if events else np.zeros(0)
    per_slot = 1440 // SLOT_MINUTES
    grid = np.zeros((n_days, per_slot))
    offsets = times - day0
    inside = (offsets >= 0) & (offsets < n_days * DAY)
    rows = (offsets[inside] // DAY).astype(int)
    cols = ((offsets[inside] % DAY) // (SLOT_MINUTES * 60)).astype(int)
    np.add.at(grid, (rows, cols), 1.0)
    whole_end = math.floor(now_local / DAY) * DAY  # metrics over whole days only
    metrics = rhythm.rhythm_metrics(times, day0, whole_end) if whole_end - day0 >= DAY else None
    drift = rhythm.rhythm_drift(times, whole_end) if whole_end - day0 >= 21 * DAY else []
    raised = [{**a, "raised_local": parse_time(a["raised"]).local} for a in alerts if a.get("raised")]
    in_window = sorted((a for a in raised if a["raised_local"] >= since_local), key=lambda a: a["raised_local"])
    return {
        "first_day_local": day0, "days": n_days, "events": len(events), "active_events": int(times.size),
        "actogram": grid, "active_minutes_per_day": rhythm.active_minutes_per_day(times, day0, day0 + n_days * DAY),
        "metrics": metrics, "drift": [d.message for d in drift], "drift_checked": whole_end - day0 >= 21 * DAY,
        "alerts": in_window, "alerts_by_type": dict(Counter(a["type"] for a in in_window)),
        **(_hub_drift(reports, day0) if reports is not None else {}),
    }


def _hub_drift(reports: list[dict[str, Any]], day0: float) -> dict[str, Any]:
    shown = [r for r in reports if r["day"] * DAY >= day0]
    return {"drift": [tr("{kind} {before} -> {after} ({unit}) on {date}", kind=word(r["kind"]), before=r["before"],
                         after=r["after"], unit=r["unit"], date=r["date"]) for r in shown],
            "drift_checked": True, "drift_from_hub": True}


def japanese_font() -> str | None:
    """The family name of an installed Japanese font, registered with matplotlib; None if none."""
    from matplotlib import font_manager

    for path in sorted(font_manager.findSystemFonts()):
        name = path.rsplit("/", 1)[-1].lower().replace("-", "").replace("_", "")
        if any(key.replace("-", "") in name for key in JAPANESE_FONT_FILES):
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path).get_name()
    return None


def picture_language() -> tuple[str, str | None]:
    """(language, font) of the picture: hubctl's language where a font can draw it, else English."""
    if hubctl_text.language() == "en":
        return "en", None
    font = japanese_font()
    return ("ja", font) if font else ("en", None)


def draw(summary: dict[str, Any], profile: dict[str, Any] | None, flat_id: str, now_local: float) -> bytes:
    """The page's figure as PNG bytes, labelled in hubctl's language when a font for it is installed."""
    plt = _pyplot()
    language, font = picture_language()
    before = hubctl_text.language()
    hubctl_text.set_language(language)
    try:
        with plt.rc_context({"font.family": [font, "DejaVu Sans"]} if font else {}):
            return _draw(plt, summary, profile, flat_id, now_local, font)
    finally:
        hubctl_text.set_language(before)


def _draw(plt, summary: dict[str, Any], profile: dict[str, Any] | None, flat_id: str, now_local: float,
          font: str | None) -> bytes:
    fig = plt.figure(figsize=(11.7, 8.3), dpi=100)  # A4 landscape
    grid = fig.add_gridspec(3, 2, height_ratios=[3, 1.3, 1.3], width_ratios=[3, 1.2], hspace=0.55, wspace=0.25)
    day0, days = summary["first_day_local"], summary["days"]
    fig.suptitle(tr("hubd {flat}: {first} to {last} ({days} days; made {made}, kept in the flat)", flat=flat_id,
                    first=format_local(day0)[:10], last=format_local(now_local)[:10], days=days,
                    made=format_local(now_local)[:16].replace("T", " ")), fontsize=12)

    ax = fig.add_subplot(grid[0, 0])
    counts = summary["actogram"]
    ax.imshow(np.log1p(counts), aspect="auto", cmap="Greys", interpolation="nearest",
              extent=(0, 24, days, 0))
    for a in summary["alerts"]:
        at = a["raised_local"] - day0
        colour = "red" if a.get("category") == "resident" else "orange"
        ax.plot([(at % DAY) / 3600.0], [at // DAY + 0.5], marker="v", color=colour, markersize=8)
    ax.set_yticks([i + 0.5 for i in range(days)][::max(1, days // 15)])
    ax.set_yticklabels([format_local(day0 + i * DAY)[5:10] for i in range(days)][::max(1, days // 15)], fontsize=7)
    ax.set_xticks(range(0, 25, 3))
    ax.set_xlabel(tr("time of day (h)"))
    ax.set_title(tr("activity, one row a day (darker: more); alerts: red resident, orange system"), fontsize=9)

    ax = fig.add_subplot(grid[0, 1])
    if profile and profile.get("threshold_hours"):
        thr = np.asarray(profile["threshold_hours"], dtype=float)
        hours = np.arange(thr.size) * profile.get("slot_minutes", SLOT_MINUTES) / 60.0
        ax.step(thr, hours, where="post", color="black", label=tr("inactivity limit"))
        after = profile.get("alarm_after_hours_by_start")
        if after:
            ax.step(np.asarray(after, dtype=float), hours, where="post", color="grey", linestyle="--",
                    label=tr("alarm after a silence begun here"))
        ax.set_ylim(24, 0)
        ax.set_xlabel(tr("hours of silence"))
        ax.set_ylabel(tr("time of day (h)"))
        ax.legend(fontsize=7, loc="lower right")
        ax.set_title(tr("when the hub would worry ({days} days learned;\na bed or seat in use has its own, longer limit)",
                        days=profile.get("learned_days", 0)), fontsize=9)
    else:
        ax.axis("off")
        ax.text(0, 0.5, tr("no learned rhythm\n(fixed timer)"), fontsize=10)

    ax = fig.add_subplot(grid[1, :])
    per_day = np.asarray(summary["active_minutes_per_day"], dtype=float)
    ax.bar(range(per_day.size), per_day, color="grey")
    if per_day.size >= 7:
        mean7 = np.convolve(per_day, np.ones(7) / 7.0, mode="valid")
        ax.plot(range(6, per_day.size), mean7, color="black", label=tr("7-day mean"))
        ax.legend(fontsize=7)
    ax.set_xlim(-0.5, per_day.size - 0.5)
    step = max(1, per_day.size // 10)
    ax.set_xticks(range(0, per_day.size, step))
    ax.set_xticklabels([format_local(day0 + i * DAY)[5:10] for i in range(0, per_day.size, step)], fontsize=7)
    ax.set_ylabel(tr("active min/day"))
    ax.set_title(tr("how active each day was (today: so far)"), fontsize=9)

    ax = fig.add_subplot(grid[2, :])
    ax.axis("off")
    ax.text(0, 1, "\n".join(text_lines(summary)), va="top", family=font or "monospace", fontsize=8)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()


def text_lines(summary: dict[str, Any]) -> list[str]:
    """The numbers under the pictures: rhythm, drift, alerts."""
    m = summary["metrics"]
    lines = []
    if m is not None:
        lines.append(tr("rhythm: IS {IS} (days alike, 0-1)   IV {IV} (restless, 0-2)   RA {RA} (day vs night, 0-1)   "
                        "quietest 5 h from {l5}   busiest 10 h from {m10}", IS=f"{m.IS:.2f}", IV=f"{m.IV:.2f}",
                        RA=f"{m.RA:.2f}", l5=hour_of_day(m.L5_onset_hours), m10=hour_of_day(m.M10_onset_hours)))
    if summary.get("drift_from_hub"):
        lines.append(tr("drift reported by the hub (kept in the flat unless consented): {drift}",
                        drift="; ".join(summary["drift"]) if summary["drift"] else tr("none")))
    elif summary["drift_checked"]:
        lines.append(tr("drift (last week against the week two weeks before): {drift}",
                        drift="; ".join(summary["drift"]) if summary["drift"] else tr("none")))
    else:
        lines.append(tr("drift: needs 21 whole days"))
    by_type = summary["alerts_by_type"]
    lines.append(tr("alerts: {alerts}", alerts=", ".join(f"{n} {word(t)}" for t, n in sorted(by_type.items()))
                    if by_type else tr("none")))
    return lines


def write(path: str, summary: dict[str, Any], profile: dict[str, Any] | None, flat_id: str, now_local: float) -> None:
    """``.png``: the figure; anything else: an HTML page with the figure and the alerts' table."""
    png = draw(summary, profile, flat_id, now_local)
    if path.lower().endswith(".png"):
        with open(path, "wb") as fh:
            fh.write(png)
        return
    rows = "".join(
        f"<tr><td>{html.escape(format_local(a['raised_local'])[:16].replace('T', ' '))}</td>"
        f"<td>{html.escape(word(str(a['type'])))}</td><td>{html.escape(str(a.get('key') or ''))}</td>"
        f"<td>{html.escape(word(str(a.get('stage', ''))))}</td></tr>" for a in summary["alerts"])
    made = format_local(now_local)[:16].replace("T", " ")
    page = (
        f"<!doctype html><html lang='{hubctl_text.language()}'><head><meta charset='utf-8'>"
        f"<title>{html.escape(tr('hubd {flat} report', flat=flat_id))}</title>"
        "<style>body{font-family:sans-serif;margin:1em}img{max-width:100%}td,th{padding:2px 8px;text-align:left}"
        "</style></head><body>"
        f"<h1>hubd {html.escape(flat_id)}</h1>"
        f"<p>{html.escape(tr('Made in the flat on {made}. Nothing in it has been sent anywhere; keep it or delete it with the resident.', made=made))}</p>"
        f"<img alt='{html.escape(tr('the month'))}' src='data:image/png;base64,{base64.b64encode(png).decode('ascii')}'>"
        "<pre>" + html.escape("\n".join(text_lines(summary))) + "</pre>"
        f"<h2>{html.escape(tr('Alerts'))}</h2><table><tr><th>{html.escape(tr('raised'))}</th><th>{html.escape(tr('type'))}</th>"
        f"<th>{html.escape(tr('sensor'))}</th><th>{html.escape(tr('stage'))}</th></tr>"
        + (rows or f"<tr><td colspan='4'>{html.escape(tr('none'))}</td></tr>") + "</table></body></html>")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(page)
