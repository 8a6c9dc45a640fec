"""SMS texts. One part (70 UCS2 / 160 GSM characters) for flat ids up to 16 and sensor ids
up to 16 characters (tested); longer sensor ids may take two parts. They carry the flat
and the alert id, and nothing about the resident beyond the alert."""

from __future__ import annotations

TEMPLATES = {
    "en": {
        "inactivity": "hubd {flat}: no activity for {silence}. Alert {id}. Reply ACK {id}",
        "not_returned": "hubd {flat}: resident out for {silence}, not back. Alert {id}. Reply ACK {id}",
        "stayed_in_place": "hubd {flat}: {key} occupied for {silence}. Alert {id}. Reply ACK {id}",
        "sensor_silent": "hubd {flat}: sensor {key} silent for {silence}. Check it. Alert {id}",
        "sensor_fault": "hubd {flat}: sensor {key} faulty. Check it. Alert {id}",
        "uplink_down": "hubd {flat}: office link failing. Alert {id}",
        "monitoring_paused_too_long": "hubd {flat}: monitoring paused for {silence}. Alert {id}",
        "hub_restarted": "hubd {flat}: hub restarted, was down {silence}. Alert {id}",
        "resolved": "hubd {flat}: alert {id} resolved, activity again after {silence}",
        "heartbeat": "hubd {flat}: alive. Last activity {last}. {status}",
        "test": "hubd {flat}: test message {id}",
    },
    "ja": {
        "inactivity": "hubd {flat}: {silence}活動なし。警報{id}。ACK {id}で応答",
        "not_returned": "hubd {flat}: 外出から{silence}未帰宅。警報{id}。ACK {id}で応答",
        "stayed_in_place": "hubd {flat}: {key}に{silence}在席。警報{id}。ACK {id}で応答",
        "sensor_silent": "hubd {flat}: {key}が{silence}無反応。要点検。警報{id}",
        "sensor_fault": "hubd {flat}: {key}故障。要点検。警報{id}",
        "uplink_down": "hubd {flat}: 通信障害。警報{id}",
        "monitoring_paused_too_long": "hubd {flat}: 見守り停止が{silence}継続。警報{id}",
        "hub_restarted": "hubd {flat}: 再起動。停止時間{silence}。警報{id}",
        "resolved": "hubd {flat}: 警報{id}解除。{silence}後に活動あり",
        "heartbeat": "hubd {flat}: 稼働中 最終活動{last} {status}",
        "test": "hubd {flat}: 試験送信{id}",
    },
}


def duration(seconds: float | None, language: str = "en") -> str:
    if seconds is None:
        return "?"
    minutes = int(max(0, seconds) // 60)
    hours, minutes = divmod(minutes, 60)
    if language == "ja":
        return f"{hours}時間{minutes}分" if hours else f"{minutes}分"
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}min"


def render(kind: str, language: str, **values) -> str:
    table = TEMPLATES.get(language, TEMPLATES["en"])
    template = table.get(kind) or TEMPLATES["en"].get(kind) or "hubd {flat}: " + kind + " {id}"
    if "silence_s" in values:
        values["silence"] = duration(values.pop("silence_s"), language)
    values.setdefault("silence", "?")
    values.setdefault("key", "")
    values.setdefault("id", "")
    return template.format(**values)
