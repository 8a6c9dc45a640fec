import dataclasses
import os
import re
import sys

import pytest
from hypothesis import given, settings, strategies as st

from hubd import cli
from hubd.config import (EXAMPLE_NUMBERS, SECTIONS_FOR_DOCS, SensorConfig, check_runnable, config_from_bytes, load_config,
                         parse_config, with_secrets)
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
     "sensor 'b'.pin", "already used by sensor 'a'.pin"),
    ({"sensors": [{"id": "a", "kind": "motion", "pin": 17}, {"id": "a", "kind": "door", "pin": 18}]},
     "sensors[1].id", "duplicate id"),
    ({"outputs": {"buzzer_pin": 18}, "sensors": [{"id": "a", "kind": "motion", "pin": 18}]},
     "sensor 'a'.pin", "outputs.buzzer_pin"),
    ({"sensors": [{"id": "a", "kind": "motion"}]}, "sensor 'a'.pin", "needs a GPIO pin"),
    ({"sensors": [{"id": "a", "kind": "motion", "pin": 2}]}, "sensor 'a'.pin", "reserved for I2C"),
    ({"sensors": [{"id": "k", "kind": "appliance"}]}, "sensor 'k'.chip", "needs chip"),
    ({"sensors": [{"id": "Bad Id", "kind": "motion", "pin": 5}]}, "sensors[0].id",
     "must be 1-40 lowercase letters, digits, _ or -"),  # a shape in words, never the regex
    ({"sensors": [{"id": "hall", "kind": "motion", "pin": 99}]}, "sensor 'hall'.pin", "at most 27"),
    ({"modem": {"recipients": ["+8112345", "+8112345"]}}, "modem.recipients", "listed twice"),
    ({"modem": {"recipients": ["call me"]}}, "modem.recipients[0]", "must be an international number"),
    ({"modem": {"authorised": ["110"]}}, "modem.authorised[0]", "7 to 15 digits"),
    ({"modem": {"authorised": ["+81312345678", "0312345678"]}}, "modem.authorised", "listed twice"),
    ({"modem": {"recipients": ["0312345678", "+81312345678"]}}, "modem.recipients", "+81312345678"),
    ({"modem": {"authorised": ["81312345678"]}}, "modem.authorised[0]", "national one starting with a single 0"),
    ({"modem": {"authorised": ["+81\uff13" + "12345678"]}}, "modem.authorised[0]", "must be an international number"),
    ({"modem": {"country_code": "081"}}, "modem.country_code", "must be 1-3 digits without + or a leading 0"),
    ({"alerts": {"heartbeat_time": "25:00"}}, "alerts.heartbeat_time", "must be a time of day as HH:MM"),
    ({"modem": {"replies_per_hour": 0}}, "modem.replies_per_hour", "at least 1"),
    ({"hub": {"socket": ""}}, "hub.socket", "must not be empty"),
    ({"hub": {"state_dir": ""}}, "hub.state_dir", "must not be empty"),
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


def test_every_pattern_is_said_in_words():
    """A config error shows the rule as a technician reads it: no field has a pattern without a shape."""
    import dataclasses

    from hubd import config as cfg

    seen = 0
    for cls in [v for v in vars(cfg).values() if isinstance(v, type) and dataclasses.is_dataclass(v)]:
        for f in dataclasses.fields(cls):
            if f.metadata.get("pattern"):
                seen += 1
                assert f.metadata.get("shape"), f"{cls.__name__}.{f.name} has a pattern but no shape"
    assert seen >= 8


def test_config_errors_show_lists_as_lists_and_count_in_words(tmp_path, capsys):
    with pytest.raises(ConfigError) as info:
        parse_config({"modem": {"recipients": ["+8112345", "+8112345"]}}, "x.toml")
    assert "('" not in str(info.value)  # never a Python tuple
    path = _write(tmp_path, '[[sensors]]\nid = "hall"\nkind = "motion"\npin = 4\n'
                            '[modem]\nrecipients = ["+819012345678"]\n')
    assert cli.main(["config", "check", path]) == 0
    assert "(1 sensor, 1 on GPIO, 1 recipient," in capsys.readouterr().out


def _write(tmp_path, text):
    path = tmp_path / "c.toml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("text, needle", [
    ('[hub]\nflat_idd = "x"\n', "hub.flat_idd"),
    ('[[sensors]]\nid="a"\nkind="motion"\npin=17\n[[sensors]]\nid="b"\nkind="door"\npin=17\n', "sensor 'b'.pin = 17"),
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


# -- office numbers: one form, compared once ---------------------------------------------------
def test_numbers_are_made_international_with_the_country_code():
    modem = parse_config({"modem": {"recipients": ["0312345678", "+442071234567"],
                                    "authorised": ["09012345678"]}}).modem
    assert modem.recipients == ("+81312345678", "+442071234567")
    assert modem.authorised == ("+819012345678",)
    uk = parse_config({"modem": {"country_code": "44", "recipients": ["02071234567"]}}).modem
    assert uk.recipients == ("+442071234567",)


def test_the_example_says_its_numbers_are_placeholders_and_run_refuses_them(capsys):
    config = load_config(EXAMPLE)
    assert config.modem.recipients and set(config.modem.recipients) <= set(EXAMPLE_NUMBERS)
    assert "PLACEHOLDER" in open(EXAMPLE, encoding="utf-8").read()
    assert cli.main(["config", "check", EXAMPLE]) == 0  # valid: the installer checks it as shipped
    assert "hubd run will refuse" in capsys.readouterr().err
    assert cli.main(["run", "--config", EXAMPLE]) == 2
    err = capsys.readouterr().err
    assert "modem.recipients[0] = '+810000000001'" in err and "placeholder" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_run_without_gpio_says_so_in_two_lines_and_what_to_do(tmp_path):
    """Off a Pi (no pin factory gpiozero can load): no traceback, the sensor and pin, then
    the next step (hubd sim, or mock pins)."""
    import subprocess

    text = open(EXAMPLE, encoding="utf-8").read()
    for i, number in enumerate(EXAMPLE_NUMBERS):
        text = text.replace(number, f"+8190{i:08d}")
    text = text.replace('port = "/dev/ttyUSB2"', f'port = "{tmp_path / "no-modem"}"')
    config = tmp_path / "config.toml"
    config.write_text(text.replace('state_dir = "/var/lib/hubd"', f'state_dir = "{tmp_path / "state"}"'), "utf-8")
    env = dict(os.environ, GPIOZERO_PIN_FACTORY="no-such-factory")
    env.pop("JOURNAL_STREAM", None)
    run = subprocess.run([sys.executable, "-m", "hubd", "run", "--config", str(config)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    tail = run.stderr.strip().splitlines()[-2:]
    assert tail[0].startswith("hubd run: sensor 'hall_pir' (motion) on pin 17:")
    assert tail[1].startswith("next: this machine has no GPIO") and "hubd sim" in tail[1]
    assert "PinFactoryFallback" not in run.stderr


def test_run_refuses_a_config_with_no_recipient(tmp_path, capsys):
    path = _write(tmp_path, '[hub]\nflat_id = "A-1"\n[modem]\nauthorised = ["+81312345678"]\n')
    assert cli.main(["run", "--config", path]) == 2
    err = capsys.readouterr().err
    assert "modem.recipients" in err and "at least one office number" in err and "Traceback" not in err


def test_numbers_shaped_like_the_tests_stay_valid():
    """Only the example's exact placeholders are refused, and only by ``hubd run``."""
    modem = parse_config({"modem": {"recipients": ["+8100000001", "+81300000001"]}}).modem
    assert modem.recipients == ("+8100000001", "+81300000001")


# -- hubd config check: exit 2 and one line, whatever the file holds ----------------------------
_NESTED = b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n"


@pytest.mark.parametrize("content, needle", [
    (bytes(range(256)) * 4, "not UTF-8"),
    (b"\x00\x01\xff\xfe binary", "not UTF-8"),
    (_NESTED, "nested too deeply"),
    (b"[hub]\nflat_id = " + b"[" * 200 + b"]" * 200 + b"\n", "hub.flat_id"),
    (b"", "no settings"),
    (b"# only a comment\n\n", "no settings"),
    (b'[modem]\nauthorised = ["123"]\n', "modem.authorised[0] = '123'"),
    (b'[modem]\nauthorised = ["0312345678", "+81312345678"]\n', "listed twice"),
    (b'[hub]\nsocket = ""\n', "hub.socket = '': must not be empty"),
    (b'[hub]\nstate_dir = ""\n', "hub.state_dir = '': must not be empty"),
    (b"x" * (1 << 20) + b"x", "larger than"),
])
def test_config_check_refuses_bad_files_in_one_line(tmp_path, capsys, content, needle):
    path = tmp_path / "c.toml"
    path.write_bytes(content)
    assert cli.main(["config", "check", str(path)]) == 2
    captured = capsys.readouterr()
    assert needle in captured.err
    assert len(captured.err.strip().splitlines()) == 1 and len(captured.err) < 400
    assert "Traceback" not in captured.err and captured.out == ""


def test_a_directory_is_not_a_config(tmp_path, capsys):
    assert cli.main(["config", "check", str(tmp_path)]) == 2
    assert "cannot be read" in capsys.readouterr().err


_EXAMPLE_BYTES = open(EXAMPLE, "rb").read()
_fragments = st.sampled_from([b"[hub]\n", b"[modem]\n", b"[[sensors]]\n", b"a = ", b"[", b"]", b"{", b"}", b'"',
                              b"'''", b"=", b"\n", b",", b"1e999", b"0x", b"\\u", b"\xff", b"\x00", b"recipients = ",
                              b"country_code = ", b'"0312345678"', b"1979-05-27T07:32:00Z", b"inf", b"nan"])


@st.composite
def _mutated_example(draw):
    raw = bytearray(_EXAMPLE_BYTES)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(raw)))
        cut = draw(st.integers(0, 8))
        raw[at:at + cut] = draw(st.binary(max_size=6) | _fragments)
    return bytes(raw)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.lists(_fragments, max_size=40).map(b"".join), _mutated_example()))
def test_fuzzed_config_bytes_give_a_config_or_one_config_error(raw):
    try:
        config = config_from_bytes(raw, "f.toml")
    except ConfigError as exc:
        assert exc.key and exc.rule and "\n" not in str(exc)
    else:
        assert config.source == "f.toml"


def _secrets(tmp_path, text: str, mode: int = 0o600) -> str:
    path = tmp_path / "secrets.toml"
    path.write_text(text)
    path.chmod(mode)
    return str(path)


def test_the_secrets_file_names_the_numbers_hubd_run_texts(tmp_path):
    """The example documents recipients/authorised in the secrets file: they must be the ones used."""
    secret = _secrets(tmp_path, 'sim_pin = "1234"\nrecipients = ["0312345678"]\nauthorised = ["09012345678"]\n')
    config = parse_config({"modem": {"recipients": ["+8100000001"], "secrets_file": secret}})
    merged = with_secrets(config)
    assert merged.modem.recipients == ("+81312345678",) and merged.modem.authorised == ("+819012345678",)
    check_runnable(merged)
    assert with_secrets(parse_config({"modem": {"recipients": ["+8100000001"]}})).modem.recipients == ("+8100000001",)


def test_secrets_with_bad_or_exposed_numbers_are_refused(tmp_path):
    config = parse_config({"modem": {"recipients": ["+8100000001"],
                                     "secrets_file": _secrets(tmp_path, 'recipients = ["0312345678", "+81312345678"]\n')}})
    with pytest.raises(ConfigError, match=r"secrets\.recipients.*listed twice"):
        with_secrets(config)
    exposed = parse_config({"modem": {"recipients": ["+8100000001"],
                                      "secrets_file": _secrets(tmp_path, 'recipients = ["0312345678"]\n', 0o644)}})
    with pytest.raises(ConfigError, match="chmod 600"):
        with_secrets(exposed)


def test_run_takes_its_recipient_from_the_secrets_file(tmp_path, capsys):
    """No recipient in the config but one in the secrets file: hubd run does not refuse for want of one."""
    secret = _secrets(tmp_path, 'recipients = ["+810000000001"]\n')
    path = _write(tmp_path, f'[hub]\nflat_id = "A-1"\n[modem]\nsecrets_file = "{secret}"\n')
    assert cli.main(["run", "--config", path]) == 2  # the example's placeholder, now from the secrets file
    err = capsys.readouterr().err
    assert "placeholder" in err and "at least one office number" not in err
