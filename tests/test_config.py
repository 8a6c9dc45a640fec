import dataclasses
import re
import sys

import pytest
from hypothesis import given, settings, strategies as st

from hubd import cli
from hubd.config import SECTIONS_FOR_DOCS, SensorConfig, load_config, parse_config
from hubd.schema import ConfigError

EXAMPLE = "config.example.toml"


def test_example_parses_and_checks_with_exit_0(capsys):
    config = load_config(EXAMPLE)
    assert config.hub.flat_id == "A-101"
    assert {s.kind for s in config.sensors} == {"motion", "entrance", "presence", "appliance"}
    assert cli.main(["config", "check", EXAMPLE]) == 0
    assert "ok" in capsys.readouterr().out


def test_example_documents_every_key():
    text = open(EXAMPLE, encoding="utf-8").read()
    sections = re.split(r"^\[+([a-z_]+)\]+\s*$", text, flags=re.M)
    documented: dict[str, str] = {}
    for name, body in zip(sections[1::2], sections[2::2]):
        documented[name] = documented.get(name, "") + body
    for section, cls in SECTIONS_FOR_DOCS.items():
        for field in dataclasses.fields(cls):
            assert re.search(rf"^{field.name}\s*=", documented[section], re.M), f"{section}.{field.name} undocumented"


@pytest.mark.parametrize("data, key, words", [
    ({"hub": {"flat_idd": "x"}}, "hub.flat_idd", "unknown key"),
    ({"hubb": {}}, "hubb", "unknown section"),
    ({"detector": {"max_inactivity_hours": -1}}, "detector.max_inactivity_hours", "at least"),
    ({"alerts": {"prealarm_minutes": "3"}}, "alerts.prealarm_minutes", "must be a number"),
    ({"sensors": [{"id": "a", "kind": "motion", "pin": 17}, {"id": "b", "kind": "door", "pin": 17}]},
     "sensors[1].pin", "already used by sensors[0].pin"),
    ({"sensors": [{"id": "a", "kind": "motion", "pin": 17}, {"id": "a", "kind": "door", "pin": 18}]},
     "sensors[1].id", "duplicate id"),
    ({"outputs": {"buzzer_pin": 18}, "sensors": [{"id": "a", "kind": "motion", "pin": 18}]},
     "sensors[0].pin", "outputs.buzzer_pin"),
    ({"sensors": [{"id": "a", "kind": "motion"}]}, "sensors[0].pin", "needs a GPIO pin"),
    ({"sensors": [{"id": "a", "kind": "motion", "pin": 2}]}, "sensors[0].pin", "reserved for I2C"),
    ({"sensors": [{"id": "k", "kind": "appliance"}]}, "sensors[0].chip", "needs chip"),
    ({"sensors": [{"id": "Bad Id", "kind": "motion", "pin": 5}]}, "sensors[0].id", "must match"),
    ({"modem": {"recipients": ["+8112345", "+8112345"]}}, "modem.recipients", "listed twice"),
    ({"modem": {"recipients": ["call me"]}}, "modem.recipients", "must match"),
    ({"sensors": [{"kind": "motion", "pin": 5}]}, "sensors[0].id", "is required"),
    ({"hub": {"tick_seconds": float("nan")}}, "hub.tick_seconds", "finite"),
    ({"hub": {"event_retention_days": True}}, "hub.event_retention_days", "must be an integer"),
])
def test_bad_config_names_key_value_and_rule(data, key, words):
    with pytest.raises(ConfigError) as info:
        parse_config(data, "x.toml")
    message = str(info.value)
    assert info.value.key == key
    assert key in message and words in message
    assert message.startswith("x.toml: ")


def _write(tmp_path, text):
    path = tmp_path / "c.toml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("text, needle", [
    ('[hub]\nflat_idd = "x"\n', "hub.flat_idd"),
    ('[[sensors]]\nid="a"\nkind="motion"\npin=17\n[[sensors]]\nid="b"\nkind="door"\npin=17\n', "sensors[1].pin = 17"),
    ('[detector]\nmax_inactivity_hours = -3\n', "detector.max_inactivity_hours = -3"),
    ('[hub\n', "not valid TOML"),
])
def test_config_check_exits_2_with_message(tmp_path, capsys, text, needle):
    assert cli.main(["config", "check", _write(tmp_path, text)]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_missing_file_exits_2(tmp_path, capsys):
    assert cli.main(["config", "check", str(tmp_path / "none.toml")]) == 2
    assert "not found" in capsys.readouterr().err


def test_defaults_ship_in_package():
    config = parse_config({})
    assert config.detector.max_inactivity_hours == 12.0
    assert config.sensors == ()


_values = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=8), st.lists(st.integers(0, 40), max_size=3))
_tables = st.dictionaries(st.sampled_from(["flat_id", "pin", "id", "kind", "mode", "port", "bogus", "tick_seconds"]),
                          _values, max_size=4)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["hub", "detector", "alerts", "modem", "outputs", "sensors", "x"]),
                       st.one_of(_tables, st.lists(_tables, max_size=3), _values), max_size=4))
def test_fuzzed_configs_only_raise_config_error(data):
    try:
        parse_config(data)
    except ConfigError as exc:
        assert exc.key and exc.rule
