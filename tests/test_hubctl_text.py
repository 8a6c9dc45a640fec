"""hubctl speaks the hub's language: every English template it says has its Japanese, with the
same placeholders, and a Japanese status screen carries no English words but names."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from hubd import hubctl_text as text
from hubd.commission import ADVICE, HOW, TOLD
from hubd.control.commissioning import checklist

from test_hubctl import hub, run  # noqa: F401 - the fixture and the in-process runner

ROOT = Path(__file__).resolve().parent.parent / "hubd"
SPEAKERS = ("hubctl.py", "commission.py", "report.py", "control/client.py")


def said(path: Path) -> set[str]:
    """The constant templates given to tr() (and DaemonUnavailable's message and hint) in a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        args = node.args[:1] if name in ("tr", "row") else node.args[1:3] if name == "DaemonUnavailable" else []
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
    templates |= set(HOW.values()) | set(ADVICE.values()) | set(TOLD.values())
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
