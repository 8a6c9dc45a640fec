"""The hub's configuration: one TOML file into frozen dataclasses.

Defaults ship here, in the dataclasses; ``config.example.toml`` documents every key
and a test keeps the two in step. Anything wrong stops start-up with the key, the
value and the rule (exit status 2).
"""

from __future__ import annotations

import dataclasses
import os
import re
import stat
import sys
from dataclasses import dataclass, field
from typing import Any, Optional

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

from .detector.params import DetectorParams
from .phone import COUNTRY_CODE_PATTERN, international
from .sms_tag import FLAT as FLAT_PATTERN
from .schema import ConfigError, build, rule

DEFAULT_PATH = "/etc/hubd/config.toml"
ID_PATTERN = r"[a-z0-9][a-z0-9_\-]{0,39}"
ID_SHAPE = "1-40 lowercase letters, digits, _ or -, starting with a letter or digit"
PHONE_PATTERN = r"\+?[0-9]{3,20}"
PHONE_SHAPE = "a phone number: 3-20 digits with an optional +"
MAX_CONFIG_BYTES = 1 << 20  # a config is a few kB: anything near this is not one
# config.example.toml's numbers: "+81" then "0" is no Japanese number (0 is the trunk prefix, never
# part of one), so they can reach nobody; ``hubd run`` refuses them (parse_config does not: tests use
# numbers of the same shape)
EXAMPLE_NUMBERS = ("+810000000001", "+810000000002")
GPIO_KINDS = ("motion", "presence", "door", "entrance")
SENSOR_KINDS = GPIO_KINDS + ("appliance",)
RESERVED_PINS = {2: "I2C SDA", 3: "I2C SCL", 14: "UART TX", 15: "UART RX"}


@dataclass(frozen=True)
class HubConfig:
    flat_id: str = rule("flat-1", help="identifier of the flat in messages to the office", pattern=FLAT_PATTERN,
                       shape="1-16 letters, digits, _ or -, starting with a letter or digit")
    language: str = rule("ja", help="language of SMS texts", choices=("ja", "en"))
    state_dir: str = rule("/var/lib/hubd", help="SQLite state lives here", nonempty=True)
    socket: str = rule("/run/hubd/control.sock", help="control socket for hubctl", nonempty=True)
    technician_group: str = rule("hubd-tech", help="group allowed to use hubctl besides root and the service user")
    tick_seconds: float = rule(30.0, help="longest wait between engine ticks", min=0.5, max=600)
    flush_seconds: float = rule(900.0, help="how often batched events are written to disk", min=1, max=3600)
    event_retention_days: int = rule(90, help="events older than this are deleted", min=1, max=3650)
    log_level: str = rule("info", help="stderr log level", choices=("debug", "info", "warning", "error"))


def _detector_config_class() -> type:
    """``[detector]`` = the mode plus every field of the detector's own DetectorParams, with its
    default, range and help: the detector owns its tunables, the config only exposes them."""
    scalar = {"int": int, "float": float, "bool": bool, "str": str}
    spec: list[tuple[str, Any, Any]] = [
        ("mode", str, rule("learned", help="learned rhythm, or the fixed timer only", choices=("learned", "fixed")))]
    for f in dataclasses.fields(DetectorParams):
        tp = scalar.get(f.type, f.type) if isinstance(f.type, str) else f.type
        spec.append((f.name, tp, dataclasses.field(default=f.default, metadata=f.metadata)))
    cls = dataclasses.make_dataclass("DetectorConfig", spec, frozen=True)
    cls.__module__ = __name__
    cls.__doc__ = "The detector's mode and tunables (see hubd.detector.params)."
    return cls


DetectorConfig = _detector_config_class()


def detector_params(detector: Any) -> DetectorParams:
    """The learned detector's parameters from a ``[detector]`` section."""
    names = {f.name for f in dataclasses.fields(DetectorParams)}
    return DetectorParams(**{name: getattr(detector, name) for name in names})


@dataclass(frozen=True)
class AlertsConfig:
    prealarm_minutes: float = rule(3.0, help="local buzzer/LED warning before the office is told (0 = none)", min=0, max=60)
    ack_timeout_minutes: float = rule(30.0, help="escalate to the next recipient if no ACK within this", min=1, max=1440)
    repeat_limit: int = rule(3, help="how many escalation rounds before giving up repeating", min=1, max=20)
    heartbeat_hours: float = rule(24.0, help="status SMS interval (0 = off)", min=0, max=24 * 28)
    heartbeat_time: str = rule("10:00", help="local time of day of the heartbeat", pattern=r"([01][0-9]|2[0-3]):[0-5][0-9]",
                               shape="a time of day as HH:MM (00:00 to 23:59)")
    max_pause_hours: float = rule(8.0, help="a pause longer than this raises monitoring_paused_too_long", min=0.25, max=168)
    max_away_days: float = rule(14.0, help="away mode can never be set longer than this", min=0.1, max=60)
    button_away_hours: float = rule(12.0, help="a long press of the OK button sets away for this long", min=0.5, max=72)
    away_return_minutes: float = rule(10.0, help="inside activity this long after away was set means the resident is back", min=1, max=240)
    system_grace_minutes: float = rule(2.0, help="a system fault must last this long before the office is told", min=0, max=120)
    system_reminder_hours: float = rule(24.0, help="an open system fault is texted again this often (to the first recipient)", min=1, max=24 * 28)
    sensor_settle_hours: float = rule(24.0, help="a sensor fault back within this of the last one ended is over "
                                      "(resolved is texted) only once the sensor has behaved this long; back within "
                                      "it, it is the same fault (0 = off)", min=0, max=168)
    system_repeat_hours: float = rule(4.0, help="the same system fault again within this is not texted again", min=0, max=168)


@dataclass(frozen=True)
class ModemConfig:
    port: str = rule("", help="serial device or pyserial URL of the modem ('' = no modem)")
    baudrate: int = rule(115200, help="serial speed", choices=(9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600))
    recipients: list[str] = rule(default_factory=tuple, help="office numbers in escalation order (international or national form)")
    authorised: list[str] = rule(default_factory=tuple, help="numbers whose SMS commands are obeyed, besides the recipients")
    country_code: str = rule("81", help="country code that makes national numbers (0…) international", pattern=COUNTRY_CODE_PATTERN,
                             shape="1-3 digits without + or a leading 0 (Japan: 81)")
    replies_per_hour: int = rule(4, help="STATUS/TEST replies one sender may get per hour; more are audited and dropped",
                                 min=1, max=60)
    secrets_file: str = rule("", help="TOML with sim_pin / recipients / authorised, readable only by the service user")
    smsc: str = rule("", help="SMS centre number ('' = the SIM's)", pattern=r"(\+?[0-9]{3,20})?",
                     shape="empty, or a number of 3-20 digits with an optional +")


@dataclass(frozen=True)
class OutputsConfig:
    buzzer_pin: Optional[int] = rule(None, help="GPIO (BCM) of the buzzer", min=0, max=27)
    led_pin: Optional[int] = rule(None, help="GPIO (BCM) of the LED", min=0, max=27)
    button_pin: Optional[int] = rule(None, help="GPIO (BCM) of the resident's OK button", min=0, max=27)
    button_hold_seconds: float = rule(3.0, help="a press this long means 'going out'", min=0.5, max=30)


@dataclass(frozen=True)
class SensorConfig:
    id: str = rule(help="unique sensor id (lowercase, digits, _ -)", pattern=ID_PATTERN, shape=ID_SHAPE)
    kind: str = rule(help="what the sensor reports", choices=SENSOR_KINDS)
    label: str = rule("", help="human label shown to technicians")
    role: str = rule("normal", help="daily_route, normal, rare, autonomous (never counts as a person)",
                     choices=("daily_route", "normal", "rare", "autonomous"))
    pin: Optional[int] = rule(None, help="GPIO (BCM) for motion/presence/door/entrance", min=0, max=27)
    pull_up: Optional[bool] = rule(None, help="internal pull-up (default: on for contacts, off for PIR)")
    debounce_ms: float = rule(50.0, help="contact debounce done by hubd", min=0, max=2000)
    warmup_s: float = rule(60.0, help="PIR warm-up after power-on to ignore", min=0, max=600)
    chip: str = rule("", help="appliance power chip", choices=("", "ina219", "ina226", "ads1115"))
    bus: int = rule(1, help="I2C bus number", min=0, max=20)
    address: int = rule(0x40, help="I2C address", min=0x03, max=0x77)
    shunt_ohms: float = rule(0.1, help="INA2xx shunt resistor", min=0.0001, max=10)
    max_current_a: float = rule(3.2, help="INA2xx largest expected current", min=0.001, max=100)
    burden_ohms: float = rule(22.0, help="ADS1115 CT burden resistor", min=1, max=1000)
    ct_ratio: float = rule(2000.0, help="CT turns ratio (SCT-013-000: 2000)", min=1, max=100000)
    mains_volts: float = rule(100.0, help="mains voltage for watts (Japan 100 V)", min=50, max=260)
    poll_seconds: float = rule(10.0, help="how often the power chip is read", min=0.5, max=600)
    metering: str = rule("shared", help="appliance: device (one device's own cable: in use = above its standby, "
                         "from day 1) or shared (several loads: the fridge's cycles are learned and kept out)",
                         choices=("shared", "device"))


@dataclass(frozen=True)
class RhythmConfig:
    """The daily rhythm record and its drift reports (``hubd.core.rhythm_record``, ``hubd.core.drift``)."""

    outing_minutes: float = rule(15.0, help="front door then nothing inside for this long is an outing", min=1, max=240)
    activity_ratio: float = rule(0.7, help="activity drift: recent days' active minutes per hour at home at or below "
                                 "this share of the month's before the last two weeks", min=0.05, max=0.95)
    activity_days: int = rule(3, help="activity drift: how many recent days are averaged", min=1, max=14)
    sleep_shift_hours: float = rule(3.0, help="sleep drift: the sleep midpoint moved at least this far", min=1, max=12)
    sleep_days: int = rule(3, help="sleep drift: how many recent nights' median move is judged", min=1, max=14)
    no_outing_days: int = rule(5, help="withdrawal: at least this many days without an outing (and longer than "
                               "any gap of the month before)", min=2, max=60)
    outing_gap_factor: float = rule(2.0, help="withdrawal: and longer than this many times the longest gap between "
                                    "outings the month before", min=1, max=5)
    sleep_spread_factor: float = rule(0.0, help="sleep drift: and at least this many times the spread (circular SD) of "
                                      "the month before's midpoints", min=0, max=5)
    night_ratio: float = rule(2.0, help="nights drift: recent night-time activity at least this many times the month "
                              "before", min=1.1, max=20)
    night_extra_minutes: float = rule(30.0, help="nights drift: and at least this many active minutes a night more",
                                      min=1, max=300)
    cooldown_days: int = rule(28, help="a drift of one kind is not reported again for this many days", min=1, max=365)
    sms_interval_days: float = rule(7.0, help="at most one rhythm SMS per consenting recipient in this many days",
                                    min=7, max=365)


@dataclass(frozen=True)
class Config:
    hub: HubConfig = field(default_factory=HubConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    modem: ModemConfig = field(default_factory=ModemConfig)
    outputs: OutputsConfig = field(default_factory=OutputsConfig)
    rhythm: RhythmConfig = field(default_factory=RhythmConfig)
    sensors: list[SensorConfig] = field(default_factory=tuple)
    source: str = field(default="", compare=False)

    def sensor(self, sensor_id: str) -> SensorConfig | None:
        for s in self.sensors:
            if s.id == sensor_id:
                return s
        return None


_SECTIONS = {"hub": HubConfig, "detector": DetectorConfig, "alerts": AlertsConfig,
             "modem": ModemConfig, "outputs": OutputsConfig, "rhythm": RhythmConfig}


def parse_config(data: dict[str, Any], source: str = "") -> Config:
    try:
        return _parse(data, source)
    except ConfigError as exc:
        if not exc.source and source:
            raise ConfigError(exc.key, exc.value, exc.rule, source) from None
        raise


def _parse(data: dict[str, Any], source: str) -> Config:
    known = set(_SECTIONS) | {"sensors"}
    for key in data:
        if key not in known:
            raise ConfigError(key, data[key], f"unknown section (known: {', '.join(sorted(known))})")
    sections = {}
    for name, cls in _SECTIONS.items():
        table = data.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(name, table, "must be a table")
        sections[name] = build(cls, table, name)
    raw_sensors = data.get("sensors", [])
    if not isinstance(raw_sensors, list):
        raise ConfigError("sensors", raw_sensors, "must be an array of tables ([[sensors]])")
    sensors = []
    for i, table in enumerate(raw_sensors):
        if not isinstance(table, dict):
            raise ConfigError(f"sensors[{i}]", table, "must be a table")
        sensors.append(build(SensorConfig, table, sensor_key(i, table.get("id"))))
    sections["modem"] = _international_numbers(sections["modem"])
    config = Config(sensors=tuple(sensors), source=source, **sections)
    _check_cross_rules(config)
    try:
        detector_params(config.detector)
    except ValueError as exc:  # a combination of detector keys that cannot work together
        raise ConfigError("detector", "(combination)", str(exc)) from None
    return config


def sensor_key(index: int, sensor_id: Any) -> str:
    """How errors name a sensor: by its id once it has a valid one (``sensor 'hall'``), else by
    its place among the ``[[sensors]]`` tables (``sensors[0]``, counted from 0)."""
    if isinstance(sensor_id, str) and re.fullmatch(ID_PATTERN, sensor_id):
        return f"sensor {sensor_id!r}"
    return f"sensors[{index}]"


def _check_cross_rules(config: Config) -> None:
    seen_ids: dict[str, int] = {}
    pins: dict[int, str] = {}

    def claim(pin: int | None, key: str) -> None:
        if pin is None:
            return
        if pin in RESERVED_PINS:
            raise ConfigError(key, pin, f"GPIO {pin} is reserved for {RESERVED_PINS[pin]}")
        if pin in pins:
            raise ConfigError(key, pin, f"pin already used by {pins[pin]}")
        pins[pin] = key

    for name in ("buzzer_pin", "led_pin", "button_pin"):
        claim(getattr(config.outputs, name), f"outputs.{name}")
    for i, s in enumerate(config.sensors):
        key = sensor_key(i, s.id)
        if s.id in seen_ids:
            raise ConfigError(f"sensors[{i}].id", s.id,
                              f"duplicate id (also sensors[{seen_ids[s.id]}]; [[sensors]] tables count from 0)")
        seen_ids[s.id] = i
        if s.kind in GPIO_KINDS:
            if s.pin is None:
                raise ConfigError(f"{key}.pin", None, f"a {s.kind} sensor needs a GPIO pin")
            if s.chip:
                raise ConfigError(f"{key}.chip", s.chip, f"a {s.kind} sensor is on GPIO, not I2C")
            claim(s.pin, f"{key}.pin")
        else:
            if not s.chip:
                raise ConfigError(f"{key}.chip", s.chip, "an appliance sensor needs chip = ina219, ina226 or ads1115")
            if s.pin is not None:
                raise ConfigError(f"{key}.pin", s.pin, "an appliance sensor is on I2C, not GPIO")
    i2c: dict[tuple[int, int], str] = {}
    for i, s in enumerate(config.sensors):
        if s.kind == "appliance":
            where, key = (s.bus, s.address), sensor_key(i, s.id)
            if where in i2c and s.chip != "ads1115":
                raise ConfigError(f"{key}.address", s.address, f"I2C address already used by {i2c[where]}")
            i2c.setdefault(where, key)


def _international_numbers(modem: ModemConfig) -> ModemConfig:
    """Office numbers in the one form they are compared in (hubd.phone): written ``0312345678``
    or ``+81312345678``, it is one number, listed once."""
    numbers = {}
    for name in ("recipients", "authorised"):
        seen: dict[str, int] = {}
        for i, number in enumerate(getattr(modem, name)):
            try:
                normal = international(number, modem.country_code)
            except ValueError as exc:
                raise ConfigError(f"modem.{name}[{i}]", number, str(exc)) from None
            if normal in seen:
                raise ConfigError(f"modem.{name}", list(getattr(modem, name)),
                                  f"a number is listed twice ([{seen[normal]}] and [{i}] are both {normal})")
            seen[normal] = i
        numbers[name] = tuple(seen)
    return dataclasses.replace(modem, **numbers)


EXAMPLE_FLAT_IDS = ("A-101", "flat-1")  # config.example.toml's flat and the built-in default


def placeholders(config: Config) -> list[str]:
    """What an installed hub must not keep from the example or the defaults, one line each
    (``hubctl commission`` refuses to go on while any is left)."""
    found = []
    if config.hub.flat_id in EXAMPLE_FLAT_IDS:
        found.append(f"hub.flat_id = {config.hub.flat_id!r} is the example's: give this flat's id as the office knows it")
    if not config.modem.recipients:
        found.append("modem.recipients is empty: the office's numbers go here")
    for name in ("recipients", "authorised"):
        for i, number in enumerate(getattr(config.modem, name)):
            if number in EXAMPLE_NUMBERS:
                found.append(f"modem.{name}[{i}] = {number!r} is config.example.toml's placeholder: "
                             "put the office's numbers here")
    if not config.sensors:
        found.append("no sensors are configured")
    for sensor in config.sensors:
        if not sensor.label:
            found.append(f"sensor {sensor.id!r} has no label: say where it is, for whoever checks it next")
    return found


def check_runnable(config: Config) -> None:
    """What ``hubd run`` needs beyond a valid config: someone to text, and not the example's numbers."""
    if not config.modem.recipients:
        raise ConfigError("modem.recipients", [], "hubd run needs at least one office number to text")
    for name in ("recipients", "authorised"):
        for i, number in enumerate(getattr(config.modem, name)):
            if number in EXAMPLE_NUMBERS:
                raise ConfigError(f"modem.{name}[{i}]", number,
                                  "is config.example.toml's placeholder, not a real number: put the office's numbers here")


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Read and validate a config file; the path is part of every error message."""
    path = os.fspath(path or DEFAULT_PATH)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError("(file)", path, "config file not found", path) from None
    except PermissionError:
        raise ConfigError("(file)", path, "config file is not readable by this user", path) from None
    except OSError as exc:
        raise ConfigError("(file)", path, f"config file cannot be read: {exc.strerror}", path) from None
    return config_from_bytes(raw, path)


def config_from_bytes(raw: bytes, source: str) -> Config:
    """A config file's bytes to a Config, or one ConfigError, whatever the bytes are."""
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError("(file)", source, f"larger than {MAX_CONFIG_BYTES} bytes: not a config file", source)
    data = parse_toml(raw, source)
    if not data:
        raise ConfigError("(file)", source, "config file has no settings: start from config.example.toml", source)
    return parse_config(data, source)


def parse_toml(raw: bytes, source: str) -> dict[str, Any]:
    """TOML bytes to a dict, or one ConfigError: binary garbage and deep nesting included."""
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError("(syntax)", source, f"not UTF-8 text (byte {exc.start}): not a TOML file", source) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("(syntax)", source, f"not valid TOML: {exc}", source) from None
    except RecursionError:
        raise ConfigError("(syntax)", source, "arrays or tables nested too deeply", source) from None


@dataclass(frozen=True)
class Secrets:
    sim_pin: str = rule("", help="SIM PIN; never retried when wrong", pattern=r"([0-9]{4,8})?", shape="empty, or 4-8 digits")
    recipients: list[str] = rule(default_factory=tuple, help="office numbers (override modem.recipients)", pattern=PHONE_PATTERN,
                                  shape=PHONE_SHAPE)
    authorised: list[str] = rule(default_factory=tuple, help="numbers allowed to send commands", pattern=PHONE_PATTERN,
                                  shape=PHONE_SHAPE)


def load_secrets(path: str) -> Secrets:
    """Secrets live apart from the config; a file others can read is refused."""
    if not path:
        return Secrets()
    try:
        st = os.stat(path)
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError("modem.secrets_file", path, "file not found") from None
    except PermissionError:
        raise ConfigError("modem.secrets_file", path, "not readable by this user") from None
    except OSError as exc:
        raise ConfigError("modem.secrets_file", path, f"cannot be read: {exc.strerror}") from None
    try:
        data = parse_toml(raw[:MAX_CONFIG_BYTES], path)
    except ConfigError as exc:
        raise ConfigError("modem.secrets_file", path, exc.rule) from None
    if st.st_mode & (stat.S_IRWXO):
        raise ConfigError("modem.secrets_file", path, "must not be readable by others (chmod 600)")
    return build(Secrets, data, "secrets")


def with_secrets(config: Config) -> Config:
    """The config with the secrets file's office numbers in place of the config's own (where it
    names any), normalised and checked as the config's numbers are: what ``hubd run`` texts."""
    secrets = load_secrets(config.modem.secrets_file)
    numbers = {name: getattr(secrets, name) for name in ("recipients", "authorised") if getattr(secrets, name)}
    if not numbers:
        return config
    try:
        modem = _international_numbers(dataclasses.replace(config.modem, **numbers))
    except ConfigError as exc:
        raise ConfigError(exc.key.replace("modem.", "secrets.", 1), exc.value, exc.rule,
                          config.modem.secrets_file) from None
    return dataclasses.replace(config, modem=modem)


SECTIONS_FOR_DOCS = dict(_SECTIONS, sensors=SensorConfig)
