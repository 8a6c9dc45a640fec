"""hubctl speaks the hub's language: every English template it says has its Japanese, with the
same placeholders, and a Japanese status screen carries no English words but names."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from hubd import hubctl_text as text
from hubd.commission import ADVICE, HOW, INVERTED_ADVICE, TOLD
from hubd.control.commissioning import checklist

from test_hubctl import hub, run  # noqa: F401 - the fixture and the in-process runner

ROOT = Path(__file__).resolve().parent.parent / "hubd"
SPEAKERS = ("hubctl.py", "commission.py", "report.py", "control/client.py", "control/server.py", "control/commands.py",
            "control/commissioning.py", "detector/profile.py")
# what profile.py says through a computed name: the weekday and the threshold's rule
PROFILE_WORDS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "learned", "cold start", "safety net")


def said(path: Path) -> set[str]:
    """The constant templates given to tr() (and DaemonUnavailable's message and hint) in a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        args = (node.args[:1] if name in ("tr", "row", "_says", "say") else
                node.args[1:3] if name == "DaemonUnavailable" else node.args[1:2] if name == "tr_in" else [])
        for arg in args:
            if isinstance(arg, ast.IfExp):  # tr("a" if x else "b")
                pending = [arg]
                while pending:
                    e = pending.pop()
                    if isinstance(e, ast.IfExp):
                        pending += [e.body, e.orelse]
                    elif isinstance(e, ast.Constant):
                        found.add(e.value)
            elif isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.add(arg.value)
    return found


def every_template() -> set[str]:
    templates = set().union(*(said(ROOT / name) for name in SPEAKERS))
    templates |= set(HOW.values()) | set(ADVICE.values()) | {INVERTED_ADVICE} | set(TOLD.values()) | set(PROFILE_WORDS)
    from types import SimpleNamespace
    config = SimpleNamespace(sensors=[], outputs=SimpleNamespace(button_pin=1, buzzer_pin=2, led_pin=3))
    config.sensors = [SimpleNamespace(id="k", kind="appliance", label="", pin=None)]
    templates |= {step["what"] for step in checklist(config)}
    return templates


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_template_hubctl_says_has_its_japanese_with_the_same_placeholders():
    templates = every_template()
    assert len(templates) > 120  # the scan finds them (a scan that found none would pass)
    missing = sorted(t for t in templates if t.strip() and t not in text.JA and not re.fullmatch(r"[\W\d_]*", t))
    assert missing == []
    assert [t for t in templates if t in text.JA and fields(t) != fields(text.JA[t])] == []


def test_no_japanese_is_kept_for_a_template_nobody_says():
    templates = every_template()
    assert sorted(set(text.JA) - templates) == []


def test_durations_and_columns_in_japanese():
    text.set_language("ja")
    try:
        assert [text.duration(s) for s in (5, 300, 3 * 3600 + 300, 2 * 86400 + 3600)] == \
            ["5秒", "5分", "3時間05分", "2日1時間"]
        assert text.width("見守り中") == 8 and text.pad("在宅", 6) == "在宅  "
        assert text.tr("{n} open", n=2) == "2件発生中" and text.word("prealarm") == "予備警報"
    finally:
        text.set_language("en")
    assert text.tr("{n} open", n=2) == "2 open" and text.duration(300) == "5 min"


ALLOWED = {"hubd", "hubctl", "GPIO", "dBm", "SIM", "NTT", "DOCOMO"}  # names: commands, units, the network operator


def test_a_japanese_status_screen_has_no_english_words_but_names(hub):  # noqa: F811
    hub.trigger("hall")
    hub.advance(600)
    code, out, err = run(hub, "--lang", "ja", "status")
    assert code == 0, err
    assert "見守り中" in out and "10分前" in out
    flat = hub.daemon.config.hub.flat_id
    names = {"hall", "kitchen", flat.lower()} | {s.id for s in hub.daemon.config.sensors}
    words = set(re.findall(r"[A-Za-z]{3,}", out)) - ALLOWED - names
    assert not {w for w in words if w.lower() not in names}, out
    assert max(text.width(line) for line in out.splitlines()) <= 60
    code, out, _ = run(hub, "status")  # the next call, in English again
    assert "WATCHING" in out


def test_hubctl_takes_the_language_from_the_hubs_config(tmp_path):
    from hubd import hubctl

    cfg = tmp_path / "hub.toml"
    cfg.write_text('[hub]\nflat_id = "B-2"\nlanguage = "ja"\nsocket = "%s"\n' % (tmp_path / "none.sock"))
    import argparse

    assert hubctl.output_language(argparse.Namespace(lang=None, config=str(cfg), socket=None)) == "ja"
    assert hubctl.output_language(argparse.Namespace(lang="en", config=str(cfg), socket=None)) == "en"
    assert hubctl.output_language(argparse.Namespace(lang=None, config=None, socket="/x.sock")) == "en"
    code, _, err = run(None, "--config", str(cfg), "status")
    assert code == 1 and "hubd が動いていません" in err and "sudo systemctl start hubd" in err


def test_every_refusal_the_engine_says_has_its_japanese():
    from hubd.core import messages

    tree = ast.parse((ROOT / "core" / "engine.py").read_text(encoding="utf-8"))
    said_ = {n.args[0].value for n in ast.walk(tree) if isinstance(n, ast.Call)
             and getattr(n.func, "attr", "") == "_refuse" and isinstance(n.args[0], ast.Constant)}
    assert len(said_) == 6
    assert sorted(said_ - set(messages.REFUSALS_JA)) == [] and sorted(set(messages.REFUSALS_JA) - said_) == []
    assert all(fields(t) == fields(messages.REFUSALS_JA[t]) for t in said_)


def test_a_japanese_hub_refuses_in_japanese(make_config, clock, tmp_path):
    from control_harness import RunningHub, WaitingUplink

    config = make_config(hub={"socket": str(tmp_path / "j.sock"), "language": "ja"})
    with RunningHub(config, clock, tmp_path / "j.sock", uplink=WaitingUplink({})) as ja_hub:
        code, _, err = run(ja_hub, "--lang", "ja", "ack", "5")
        assert code == 1 and "警報5は応答待ちではありません" in err
        code, _, err = run(ja_hub, "handover", "--told", "watching", "--technician", "x")
        assert code == 1 and "未完了の手順があります" in err


def test_the_profile_is_drawn_again_in_japanese_with_its_columns():
    import numpy as np

    from hubd.detector.model import LearnedDetector
    from hubd.events import Event, Kind
    from hubd.hubctl import show_profile

    det = LearnedDetector()
    t0 = 1_704_067_200.0
    for d in range(10):
        for k in range(7 * 6, 23 * 6):
            det.observe(Event(t0 + d * 86400 + k * 600, t0 + d * 86400 + k * 600, "hall", Kind.MOTION, 1.0))
    now = t0 + 10 * 86400 + 9 * 3600
    data = det.profile(now, now)
    reply = {"now": "2024-01-11T09:00:00", "text": det.profile_text(now, now), "data": data}
    english = show_profile(reply)
    text.set_language("ja")
    try:
        japanese = show_profile(reply)
    finally:
        text.set_language("en")
    assert english == reply["text"].splitlines()
    assert japanese[0].startswith("学習日数：") and any("現在 09:00" in line for line in japanese)
    assert any(line.startswith("01-02 火") for line in japanese) and any(line.startswith("01-02 Tue") for line in english)
    picture = [line for line in english if line[:1] in "0123456789 " and "|" not in line]
    assert len(japanese) == len(english) and max(text.width(line) for line in japanese) <= 80
    assert np.all([text.width(a) == text.width(b) for a, b in zip(japanese, english) if a[:2].isdigit()])
    assert picture
