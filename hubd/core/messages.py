"""SMS texts. The words alone are one part (70 UCS2 / 160 GSM characters) for flat and sensor
ids up to 16 characters; with the tag the uplink appends (``hubd.sms_tag``) English stays one
part and Japanese takes at most two (tested; ``docs/office.md`` says when). They carry the flat
and the alert id, and nothing about the resident beyond the alert.

An alert's end is told in its own words (``resolved:<alert type>``): activity again ends a
silence, but a sensor that works again or a link that is back says nothing about the
resident. ``render("resolved", ..., alert_type=...)`` picks it; a type without its own
wording gets the plain ``resolved``, which claims nothing.

The heartbeat and the STATUS reply are wholly in the configured language, words and all
(the mode, "none", "unknown", the date): :func:`heartbeat` and :func:`status_reply` turn the
core's facts into the words; ``docs/office.md`` explains every field for the office.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

TEMPLATES = {
    "en": {
        "inactivity": "hubd {flat}: no activity for {silence}. Alert {id}. Reply ACK {id}",
        "not_returned": "hubd {flat}: resident out for {silence}, not back. Alert {id}. Reply ACK {id}",
        "stayed_in_place": "hubd {flat}: {key} occupied for {silence}. Alert {id}. Reply ACK {id}",
        "sensor_silent": "hubd {flat}: sensor {key} silent for {silence}. Check it. Alert {id}",
        "sensor_fault": "hubd {flat}: sensor {key} faulty{reason}. Check it. Alert {id}",
        "uplink_down": "hubd {flat}: office link failing. Alert {id}",
        "uplink_degraded": "hubd {flat}: hub cannot read SMS, so ACK/STATUS/TEST texts are not seen. "
                           "Alerts still sent. Alert {id}",
        "monitoring_paused_too_long": "hubd {flat}: monitoring paused for {silence}. Alert {id}",
        "hub_restarted": "hubd {flat}: hub restarted, was down {silence}. Alert {id}",
        "hub_restarted_clock_unset": "hubd {flat}: hub restarted, outage unknown (clock not set yet). Alert {id}",
        "hub_outage_measured": "hubd {flat}: clock set: before its restart the hub was down {silence}. Alert {id}",
        "store_reset": "hubd {flat}: stored data damaged, set aside; restarted afresh, learned rhythm lost."
                       " Check SD card. Alert {id}",
        "store_replaced": "hubd {flat}: stored data damaged, set aside; still watching, history lost."
                          " Check SD card. Alert {id}",
        "resolved": "hubd {flat}: alert {id} resolved after {silence}",
        "resolved:inactivity": "hubd {flat}: alert {id} resolved, activity again after {silence}",
        "resolved:not_returned": "hubd {flat}: alert {id} resolved, resident back after {silence}",
        "resolved:stayed_in_place": "hubd {flat}: alert {id} resolved, {key} free again after {silence}",
        "resolved:sensor_silent": "hubd {flat}: alert {id} resolved, sensor {key} reporting again after {silence}",
        "resolved:sensor_fault": "hubd {flat}: alert {id} resolved, sensor {key} working again after {silence}",
        "resolved:uplink_down": "hubd {flat}: alert {id} resolved, office link working again after {silence}",
        "resolved:uplink_degraded": "hubd {flat}: alert {id} resolved, hub reads SMS again after {silence}",
        "resolved:monitoring_paused_too_long": "hubd {flat}: alert {id} resolved, monitoring resumed after {silence}",
        "heartbeat": "hubd {flat}: alive. Last activity {last}. Mode {mode}. Open alerts {alerts}. "
                     "Signal {signal}. Unsent SMS {queued}",
        "status": "hubd {flat}: {mode}. No activity for {silence} (limit {limit}). Open alerts {alerts}",
        "test": "hubd {flat}: test message {id}",
        "commission_test": "hubd {flat}: installation test {id}. Please confirm: reply OK {id}",
        "test_confirmed": "hubd {flat}: installation test {id} confirmed, thank you",
    },
    "ja": {
        "inactivity": "hubd {flat}: {silence}活動なし。警報{id}。ACK {id}で応答",
        "not_returned": "hubd {flat}: 外出から{silence}未帰宅。警報{id}。ACK {id}で応答",
        "stayed_in_place": "hubd {flat}: {key}に{silence}在席。警報{id}。ACK {id}で応答",
        "sensor_silent": "hubd {flat}: {key}が{silence}無反応。要点検。警報{id}",
        "sensor_fault": "hubd {flat}: {key}故障{reason}。要点検。警報{id}",
        "uplink_down": "hubd {flat}: 通信障害。警報{id}",
        "uplink_degraded": "hubd {flat}: SMS受信障害。ACK等の返信は届きません。通知の送信は正常。警報{id}",
        "monitoring_paused_too_long": "hubd {flat}: 見守り停止が{silence}継続。警報{id}",
        "hub_restarted": "hubd {flat}: 再起動。停止時間{silence}。警報{id}",
        "hub_restarted_clock_unset": "hubd {flat}: 再起動。時計未設定のため停止時間不明。警報{id}",
        "hub_outage_measured": "hubd {flat}: 時計設定済み。再起動前の停止時間{silence}。警報{id}",
        "store_reset": "hubd {flat}: 保存データ破損、退避して新規で再起動。学習内容は消失。SDカード要点検。警報{id}",
        "store_replaced": "hubd {flat}: 保存データ破損、退避。見守りは継続、履歴は消失。SDカード要点検。警報{id}",
        "resolved": "hubd {flat}: 警報{id}解除。継続{silence}",
        "resolved:inactivity": "hubd {flat}: 警報{id}解除。{silence}後に活動あり",
        "resolved:not_returned": "hubd {flat}: 警報{id}解除。{silence}後に帰宅",
        "resolved:stayed_in_place": "hubd {flat}: 警報{id}解除。{silence}後に{key}の在席終了",
        "resolved:sensor_silent": "hubd {flat}: 警報{id}解除。{key}が{silence}後に反応再開",
        "resolved:sensor_fault": "hubd {flat}: 警報{id}解除。{key}が{silence}後に復旧",
        "resolved:uplink_down": "hubd {flat}: 警報{id}解除。通信が{silence}後に復旧",
        "resolved:uplink_degraded": "hubd {flat}: 警報{id}解除。SMS受信が{silence}後に復旧",
        "resolved:monitoring_paused_too_long": "hubd {flat}: 警報{id}解除。{silence}後に見守り再開",
        "heartbeat": "hubd {flat}: 稼働中。最終活動{last}。{mode}。警報{alerts}件。電波{signal}。未送信{queued}件",
        "status": "hubd {flat}: {mode}。無活動{silence}(上限{limit})。警報{alerts}件",
        "test": "hubd {flat}: 試験送信{id}",
        "commission_test": "hubd {flat}: 設置試験{id}。確認のため OK {id} と返信してください",
        "test_confirmed": "hubd {flat}: 設置試験{id}の確認を受け付けました",
    },
}

# rhythm drift reports (core.wellbeing), sent only to numbers the resident consented to: never alarms
RHYTHM_DRIFT = {
    "en": {
        "activity": "hubd {flat}: rhythm report, not an alarm: activity down, {before} -> {after} active min per hour at home since {since}",
        "sleep": "hubd {flat}: rhythm report, not an alarm: sleep midpoint moved {before} -> {after} since {since}",
        "outings": "hubd {flat}: rhythm report, not an alarm: no outing for {after} days (before: {before} days a week)",
        "nights": "hubd {flat}: rhythm report, not an alarm: nights more active, {before} -> {after} min 00-05 since {since}",
    },
    "ja": {
        "activity": "hubd {flat}: 生活リズム報告(警報でない) 活動量低下 在宅1時間あたり{before}→{after}分 {since}〜",
        "sleep": "hubd {flat}: 生活リズム報告(警報でない) 睡眠の中央時刻 {before}→{after} {since}〜",
        "outings": "hubd {flat}: 生活リズム報告(警報でない) {after}日間外出なし(以前は週{before}日)",
        "nights": "hubd {flat}: 生活リズム報告(警報でない) 夜間0-5時の活動 {before}→{after}分 {since}〜",
    },
}

# the words for the facts the heartbeat and the STATUS reply show (engine modes: home, away, paused)
WORDS = {
    "en": {"home": "watching", "away": "away", "paused": "paused", "none": "none", "unknown": "unknown"},
    "ja": {"home": "見守り中", "away": "外出中", "paused": "停止中", "none": "なし", "unknown": "不明"},
}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# why a sensor is faulty, for the technician (``sensor_fault``'s reasons: the detector's judgement
# of its behaviour, sensor health's rate rule, the device's own report); others are shown as named
REASONS = {
    "en": {"stuck": "stuck", "inverted": "reads inverted", "chatter": "chattering"},
    "ja": {"stuck": "固着", "inverted": "値が逆", "chatter": "誤作動多発"},
}
MAX_REASON_CHARS = {"en": 40, "ja": 16}  # reasons that would not fit are left out: the text stays one SMS part
MAX_SHOWN_COUNT = 99  # a larger count is shown as "99+": the text stays one SMS part


def duration(seconds: float | None, language: str = "en") -> str:
    if seconds is None:
        return "?"
    minutes = int(max(0, seconds) // 60)
    hours, minutes = divmod(minutes, 60)
    if language == "ja":
        return f"{hours}時間{minutes}分" if hours else f"{minutes}分"
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}min"


# What the engine says when it refuses a command (hubctl shows it; the office's refused SMS are
# audited with it), by its English template: in Japanese for a hub whose language is ja.
REFUSALS_JA = {
    "unknown mode {name}": "不明なモード {name}",
    "a mode needs a positive duration: modes always expire": "モードには正の時間が必要です（モードは必ず期限切れになります）",
    "{mode} for {hours} h is longer than the maximum {cap} h": "{mode}の{hours}時間は上限の{cap}時間を超えています",
    "no alarm with id {id} is waiting for acknowledgement": "警報{id}は応答待ちではありません",
    "no recipient: give --to NUMBER or configure modem.recipients":
        "送信先がありません：--to 番号 を指定するか modem.recipients を設定してください",
    "no installation test {id} sent to {number} awaits confirmation": "{number}宛ての設置試験{id}は確認待ちではありません",
}


def refusal(template: str, language: str, **values) -> str:
    """A refusal's text in ``language`` (``REFUSALS_JA``), formatted with ``values``."""
    text = REFUSALS_JA.get(template, template) if language == "ja" else template
    return text.format(**values)


def render(kind: str, language: str, alert_type: str = "", **values) -> str:
    """The text of ``kind``; for ``resolved``, ``alert_type`` (the alert that ended) picks the wording."""
    table = TEMPLATES.get(language, TEMPLATES["en"])
    if kind == "resolved" and f"resolved:{alert_type}" in TEMPLATES["en"]:
        kind = f"resolved:{alert_type}"
    template = table.get(kind) or TEMPLATES["en"].get(kind) or "hubd {flat}: " + kind + " {id}"
    if "silence_s" in values:
        values["silence"] = duration(values.pop("silence_s"), language)
    values.setdefault("silence", "?")
    values.setdefault("key", "")
    values.setdefault("id", "")
    values["reason"] = fault_reason(values.pop("detail", None) or {}, language)
    return template.format(**values)


def rhythm_text(kind: str, language: str, **values) -> str:
    """A drift report's text (``RHYTHM_DRIFT``) in ``language``."""
    return RHYTHM_DRIFT.get(language, RHYTHM_DRIFT["en"])[kind].format(**values)


def fault_reason(detail: dict, language: str = "en") -> str:
    """`` (stuck)`` / ``（固着）`` from a finding's detail (``reasons`` list or one ``reason``); "" if none."""
    names = detail.get("reasons") or ([detail["reason"]] if detail.get("reason") else [])
    if isinstance(names, dict):
        names = list(names)
    words = REASONS.get(language, REASONS["en"])
    sep, room = ("・" if language == "ja" else ", "), MAX_REASON_CHARS.get(language, MAX_REASON_CHARS["en"])
    text = ""
    for name in names:
        word = words.get(str(name), str(name))
        joined = f"{text}{sep}{word}" if text else word
        if len(joined) > room:
            break
        text = joined
    if not text:
        return ""
    return f"（{text}）" if language == "ja" else f" ({text})"


def _word(name: str, language: str) -> str:
    return WORDS.get(language, WORDS["en"]).get(name, name)


def hour_of_day(hours: float | None) -> str:
    """``07:30`` for 7.5 hours past midnight (any number of days on); ``-`` when not known."""
    if hours is None or math.isnan(hours):
        return "-"
    minutes = int(round(hours * 60)) % 1440
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def count(n: int) -> str:
    return f"{MAX_SHOWN_COUNT}+" if n > MAX_SHOWN_COUNT else str(max(0, n))


def clock_time(local: float | None, language: str = "en") -> str:
    """A local time of day with its date, as people write it: ``Dec 31 23:59`` / ``12/31 23:59``."""
    if local is None:
        return _word("none", language)
    t = datetime(1970, 1, 1) + timedelta(seconds=int(local))
    if language == "ja":
        return f"{t.month}/{t.day} {t.hour:02d}:{t.minute:02d}"
    return f"{_MONTHS[t.month - 1]} {t.day} {t.hour:02d}:{t.minute:02d}"


def heartbeat(language: str, flat: str, last_local: float | None, mode: str, open_alerts: int,
              signal_bars: int | None, unsent: int) -> str:
    """The daily "alive" SMS: last activity, mode, open alerts, signal (bars of 4), SMS not yet sent."""
    signal = _word("unknown", language) if signal_bars is None else f"{signal_bars}/4"
    return render("heartbeat", language, flat=flat, last=clock_time(last_local, language), mode=_word(mode, language),
                  alerts=count(open_alerts), signal=signal, queued=count(unsent))


def status_reply(language: str, flat: str, mode: str, inactive_s: float | None, limit_s: float | None,
                 open_alerts: int) -> str:
    """The reply to an office's STATUS: mode, silence now against its limit now, open alerts."""
    return render("status", language, flat=flat, mode=_word(mode, language), silence_s=inactive_s,
                  limit=duration(limit_s, language), alerts=count(open_alerts))
