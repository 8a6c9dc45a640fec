"""The desk's config: defaults, and clear errors for unknown keys and out-of-range values."""

import pytest

from hubdesk.cli import main
from hubdesk.config import ConfigError, load, parse


def test_defaults_give_daily_heartbeat_two_hour_grace_and_embedded_sqlite():
    cfg = parse({"flats": [{"id": "A-1", "phone": "+819011112222"}]})
    assert cfg.flats[0].heartbeat_hours == 24.0
    assert cfg.grace_s(cfg.flats[0]) == 2 * 3600.0
    assert cfg.database.sqlite and not cfg.database.postgres
    assert cfg.duty.rounds == 3 and cfg.duty.ack_timeout_minutes == 30.0


@pytest.mark.parametrize("table, key, words", [
    ({"nonsense": 1}, "nonsense", "unknown key"),
    ({"duty": {"timeout": 3}}, "duty.timeout", "unknown key"),
    ({"flats": [{"id": "A-1", "phone": "090-1111-2222"}]}, "flats[0].phone", "international number"),
    ({"flats": [{"id": "A 1", "phone": "+819011112222"}]}, "flats[0].id", "letters"),
    ({"duty": {"rounds": 0}}, "duty.rounds", "at least 1"),
    ({"retention": {"days": 0}}, "retention.days", "at least 1"),
    ({"desk": {"country_code": "+81"}}, "desk.country_code", "1-3 digits"),
    ({"board": {"timezone": "Mars/Olympus"}}, "board.timezone", "not a known time zone"),
    ({"board": {"listen": "8080"}}, "board.listen", "host:port"),
    ({"duty": {"numbers": ["+819000000001", "+819000000001"]}}, "duty.numbers", "twice"),
    ({"flats": [{"id": "A-1", "phone": "+819011112222"}, {"id": "A-1", "phone": "+819011112223"}]}, "flats[1].id", "twice"),
    ({"flats": [{"id": "A-1", "phone": "+819011112222"}, {"id": "A-2", "phone": "+819011112222"}]}, "flats[1].phone", "A-1"),
    ({"flats": [{"id": "A-1", "phone": "+819011112222", "heartbeat_hours": 0.5, "grace_hours": 0.25}]},
     "flats[0].heartbeat_hours", "at least 1 h"),
    ({"flats": [{"id": "A-1", "phone": "+819011112222"}], "duty": {"numbers": ["+819011112222"]}}, "duty.numbers", "hub"),
])
def test_bad_values_name_key_and_rule(table, key, words):
    with pytest.raises(ConfigError) as err:
        parse(table)
    assert err.value.key == key
    assert words in str(err.value)


def test_board_timezone():
    assert parse({"board": {"timezone": "Asia/Tokyo"}}).board.timezone == "Asia/Tokyo"
    assert parse({}).board.timezone == ""


def test_one_hour_overdue_is_allowed():
    cfg = parse({"flats": [{"id": "A-1", "phone": "+819011112222", "heartbeat_hours": 0.5, "grace_hours": 0.5}]})
    assert cfg.flats[0].heartbeat_hours + cfg.grace_s(cfg.flats[0]) / 3600 == 1.0


def test_load_reports_file_and_toml_errors(tmp_path):
    bad = tmp_path / "desk.toml"
    bad.write_text("[duty\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(str(bad))
    with pytest.raises(ConfigError, match="cannot be read"):
        load(str(tmp_path / "missing.toml"))


def test_check_config_command(tmp_path, capsys):
    good = tmp_path / "good.toml"
    good.write_text('[[flats]]\nid = "A-1"\nphone = "+819011112222"\n[duty]\nnumbers = ["+819000000001"]\n')
    assert main(["check-config", str(good)]) == 0
    assert "1 flats, 1 duty numbers" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text("[duty]\nrounds = 99\n")
    assert main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "duty.rounds = 99" in err and "at most 20" in err and "Traceback" not in err


def test_run_with_unopenable_database_says_so(tmp_path, capsys):
    cfg = tmp_path / "desk.toml"
    cfg.write_text(f'[database]\nsqlite = "{tmp_path}/no/such/dir/smsd.db"\n')
    assert main(["run", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert "cannot open SQLite database" in err and "Traceback" not in err


def test_unbuilt_plugin_command_says_so(capsys, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "hubdesk.demo", None)  # as if the demo module were absent
    assert main(["demo"]) == 1
    assert "demo is not available" in capsys.readouterr().err


def test_the_config_in_docs_parses_and_shows_every_key():
    import dataclasses
    import os
    import re
    import tomllib

    from hubdesk import config as c
    doc = open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "desk.md"), encoding="utf-8").read()
    section = doc[doc.index("## Config"):]
    example = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    cfg = parse(tomllib.loads(example))
    assert cfg.flats[0].id == "A-101"
    for cls in (c.DatabaseConfig, c.DeskTimings, c.DutyConfig, c.RetentionConfig, c.BoardConfig, c.FlatConfig):
        for f in dataclasses.fields(cls):
            assert re.search(rf"^#? ?{f.name} =", example, re.M), f"{cls.__name__}.{f.name} missing from docs/desk.md"
