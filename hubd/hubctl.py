"""hubctl: the technician's client. Talks to the running daemon over its control socket;
``config check`` and ``sms encode|decode`` work without it.

Output fits a phone-sized SSH screen (about 60 columns); ``--json`` prints the daemon's
data instead (one JSON object per line for streams). Exit status: 0 ok, 1 failure
(daemon not running, command refused, walktest incomplete), 2 usage or config error.
Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import math
import sys
from typing import Any, Callable, Sequence

from .cli import EXIT_FAIL, EXIT_OK, EXIT_USAGE
from .config import DEFAULT_PATH, ConfigError, HubConfig, load_config
from . import hubctl_text as text
from .control import protocol as p
from .events import parse_time, read_events
from .hubctl_text import tr, word
from .commission import Checklist, handover_lines
from .control.client import ControlClient, DaemonUnavailable
from .core.messages import hour_of_day

USAGE_CODES = (p.BAD_ARGS, p.UNKNOWN_COMMAND)


class Usage(Exception):
    """A command line hubctl cannot act on (exit 2)."""


# -- formatting helpers ---------------------------------------------------------------------


duration = text.duration


def when(iso: str | None, now: str | None = None) -> str:
    """``22:13`` today, ``11-14 22:13`` another day, ``never`` for None."""
    if not iso:
        return tr("never")
    date, _, clock = iso.partition("T")
    if now and now.partition("T")[0] == date:
        return clock[:5]
    return f"{date[5:]} {clock[:5]}"


def compact(value: Any) -> str:
    """A reading or detail dict as ``k=v k=v`` for one short line."""
    if isinstance(value, dict):
        return " ".join(f"{k}={compact(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ",".join(compact(v) for v in value)
    return "-" if value is None else str(value)


def row(label: str, value: str) -> str:
    return f"{text.pad(tr(label), 11)} {value}"


def number(value: float) -> str:
    return f"{value:g}"


# -- human views of the daemon's data --------------------------------------------------------


def show_status(d: dict[str, Any]) -> list[str]:
    now = d["now"]
    lines = [f"hubd {d['flat_id']}  {now.replace('T', ' ')[:16]}"]
    lines.append(row("monitoring", word(d["monitoring"].upper())))
    mode = d["mode"]
    if mode["name"] == "home":
        lines.append(row("mode", word("home")))
    else:
        lines.append(row("mode", tr("{mode} by {who}", mode=word(mode["name"].upper()), who=mode["set_by"] or "?")))
        lines.append(row("", tr("until {when} ({left} left)", when=when(mode["until"], now),
                                left=duration(mode["remaining_seconds"]))))
    act = d["activity"]
    if act["inactive_seconds"] is not None:
        ago = tr(", {ago} ago", ago=duration(act["inactive_seconds"]))
    else:
        ago = tr("; not counting while a sensor is held") if act["held"] else ""
    lines.append(row("activity", tr("last {when}{ago}", when=when(act["last"], now), ago=ago)))
    if act["threshold_seconds"] is not None:
        rule = f" ({word(act['threshold_rule'])})" if act["threshold_rule"] else ""
        lines.append(row("limit now", f"{duration(act['threshold_seconds'])}{rule}"))
    if act["held"]:
        lines.append(row("held", ", ".join(act["held"])))
    det = d["detector"]
    learning = ""
    if act.get("learned_days") is not None:
        learning = tr(", {days} days learned", days=act["learned_days"]) + (
            tr(" (still learning)") if act.get("cold_start") else "")
    lines.append(row("detector", f"{word(det['mode'])}{learning}"))
    open_alerts = d["alerts"]["open"]
    lines.append(row("alerts", tr("{n} open", n=len(open_alerts)) if open_alerts else tr("none open")))
    for a in open_alerts:
        key = f" {a['key']}" if a["key"] else ""
        lines.append(f"  #{a['id']} {word(a['type'])}{key} {word(a['stage'].upper())} {when(a['raised'], now)}")
    sensors = d["sensors"]
    counts = ", ".join(f"{n} {word(state)}" for state, n in sorted(sensors["by_state"].items()))
    lines.append(row("sensors", tr("{n} configured", n=sensors["configured"])
                     + (tr(": {counts}", counts=counts) if counts else "")))
    for problem in sensors["problems"]:
        lines.append(f"  {problem['id']} {word(problem['state'].upper())}")
    lines.append(row("modem", modem_line(d["modem"])))
    if d["outbox"]:
        lines.append(row("outbox", ", ".join(f"{n} {state}" for state, n in d["outbox"].items() if n) or tr("empty")))
    if not d["storage_ok"]:
        lines.append(row("storage", tr("FAILING: state is not being saved")))
    if not d["clock_synced"]:
        lines.append(row("clock", tr("NOT SYNCED (no network or modem time yet)")))
    restart = d.get("restart")
    if restart and not restart["outage_known"]:
        lines.append(row("restart", tr("outage before it UNKNOWN") + (
            tr(" until the clock is set") if not d["clock_synced"] else tr(" (saved on an unset clock)"))))
    return lines


def modem_line(m: dict[str, Any]) -> str:
    if not m.get("reported"):
        return tr("no status reported")
    if not m.get("connected"):
        return tr("NOT CONNECTED ({why})", why=m.get("last_error") or tr("no modem"))
    parts = [tr("registered") if m.get("registered") else tr("NOT REGISTERED")]
    if m.get("signal_bars") is not None:
        dbm = f" {m['signal_dbm']} dBm" if m.get("signal_dbm") is not None else ""
        parts.append(tr("signal {bars}/4{dbm}", bars=m["signal_bars"], dbm=dbm))
    if m.get("operator"):
        parts.append(str(m["operator"]))
    return ", ".join(parts)


def show_sensors(d: dict[str, Any]) -> list[str]:
    now = d["now"]
    lines = [tr("sensors at {when}, outputs {outputs}", when=when(now, now), outputs=d["outputs"])]
    for s in d["sensors"]:
        lines.append(f"{s['id']:<16} {s['kind']:<9} {text.pad(word(s['health']), 8)} {s['where']}")
        last = s["last_event"]
        detail = [s["label"]] if s["label"] else []
        if last is not None:
            detail.append(tr("last {value} at {when}", value=number(last["value"]), when=when(last["time"], now)))
        if detail:
            lines.append("  " + "; ".join(detail))
        if s["reading"] is not None:
            lines.append("  " + reading_summary(s["reading"]))
    for key, value in d["other_readings"].items():
        if value not in ([], {}, None) and key != "outputs":
            lines.append(f"{key}: {compact(value)}")
    return lines


READING_KEYS = ("level", "reported", "warming_up", "fault", "watts", "last_watts", "health")


def reading_summary(reading: Any) -> str:
    """The few fields of a driver's reading a technician looks at, in one short line."""
    if not isinstance(reading, dict):
        return compact(reading)
    parts = []
    for key in READING_KEYS:
        value = reading.get(key)
        if isinstance(value, dict):  # e.g. a power sensor's status: its own health word
            value = value.get("health")
        if key in reading and not (value is None and key in ("fault", "watts", "last_watts")):
            parts.append(f"{key}={compact(value)}")
    return " ".join(parts) if parts else compact(reading)


def show_event(e: dict[str, Any]) -> str:
    return f"{e['time'][11:19] or e['time']}  {e['sensor']:<16} {e['kind']:<9} {number(e['value'])}"


def _profile_in_language(data: dict[str, Any], now: str | None) -> str:
    """The daemon's profile picture drawn again here, in hubctl's language, from its data."""
    import numpy as np

    from .detector.profile import render

    return render(np.asarray(data["threshold_hours"], dtype=float) * 3600.0, data["rules"],
                  int(data["actogram_first_day_local"] // 86400), np.asarray(data["actogram"], dtype=float),
                  data["learned_days"], data["cold_start"], now_local=parse_time(now).local if now else None,
                  appliances=data.get("appliances") or [], say=tr)


def show_mode(d: dict[str, Any]) -> list[str]:
    mode = d["mode"]
    if mode["name"] == "home":
        return [tr("home: monitoring is on")]
    lines = [tr("{mode} until {until}", mode=word(mode["name"]), until=mode["until"].replace("T", " ")[:16]),
             tr("({left}), set by {who}", left=duration(mode["remaining_seconds"]), who=mode["set_by"])]
    if d.get("note"):
        lines.append(tr("note: {note}", note=d["note"]))
    return lines


def show_alerts(d: dict[str, Any]) -> list[str]:
    if not d["alerts"]:
        return [tr("no alerts")]
    lines = []
    for a in d["alerts"]:
        key = f" {a['key']}" if a["key"] else ""
        lines.append(f"#{a['id']:<4} {text.pad(word(a['type']) + key, 24)} {text.pad(word(a['stage']), 9)} "
                     f"{when(a['raised'])}")
        if a["acked_by"]:
            lines.append("      " + tr("acked by {who}", who=a["acked_by"]))
    return lines


def show_events(d: dict[str, Any]) -> list[str]:
    if not d["events"]:
        return [tr("no events") + (tr(" since {since}", since=d["since"]) if d["since"] else "")]
    return [f"{e['time'][5:].replace('T', ' ')}  {e['sensor']:<16} {e['kind']:<9} {number(e['value'])}"
            for e in d["events"]]


def show_audit(d: dict[str, Any]) -> list[str]:
    if not d["entries"]:
        return [tr("audit log is empty")]
    lines = []
    for e in d["entries"]:
        lines.append(f"{when(e['time'])}  {e['actor']}  {e['action']}")
        if e["detail"]:
            lines.append(f"  {compact(e['detail'])}"[:60])
    return lines


def show_profile(d: dict[str, Any]) -> list[str]:
    data = d.get("data")
    if text.language() != "en" and isinstance(data, dict) and "threshold_hours" in data:
        return _profile_in_language(data, d.get("now")).splitlines()
    if d.get("text"):
        return str(d["text"]).splitlines()
    return [json.dumps(d["data"], ensure_ascii=False, indent=1)]


CHART_WIDTH = 40


def _num(value: Any, fmt: str = "{:.2f}") -> str:
    return "-" if value is None else fmt.format(value)


def _unit(unit: str) -> str:
    """A drift report's unit (``core.drift``) in hubctl's language."""
    words = {"active minutes per hour at home": tr("active minutes per hour at home"), "sleep midpoint, clock hours":
             tr("sleep midpoint, clock hours"), "days with an outing a week": tr("days with an outing a week"),
             "active minutes 00:00-05:00 a night": tr("active minutes 00:00-05:00 a night")}
    return words.get(unit, unit)


def show_rhythm(d: dict[str, Any]) -> list[str]:
    """The days as a table, the activity trend as bars, then the drift reports (docs/hubctl.md)."""
    days = d["days"]
    if not days:
        return [tr("no day recorded yet: a record is made at the end of each local day")]
    cols = (tr("date"), tr("active"), tr("night"), tr("out"), tr("outings"), tr("sleep"), "IS7", "IV7", "RA7", "RA28")
    lines = ["  ".join(text.pad(c, 11 if i in (0, 5) else 6) for i, c in enumerate(cols))]
    for r in days:
        w7, w28 = r.get("w7") or {}, r.get("w28") or {}
        sleep = f"{hour_of_day(r.get('sleep_onset'))}-{hour_of_day(r.get('wake'))}" if r.get("sleep_mid") is not None else "-"
        cells = (r["date"] + ("*" if r.get("partial") else ""), str(r["active_minutes"]), str(r["night_active_minutes"]),
                 str(r["out_minutes"]), str(r["outings"]), sleep, _num(w7.get("IS")), _num(w7.get("IV")),
                 _num(w7.get("RA")), _num(w28.get("RA")))
        lines.append("  ".join(text.pad(c, 11 if i in (0, 5) else 6) for i, c in enumerate(cells)))
    if any(r.get("partial") for r in days):
        lines.append(tr("* not watched the whole day (a restart, or the first day)"))
    top = max(1, max(r["active_minutes"] for r in days))
    lines += ["", tr("active minutes a day:")]
    for r in days:
        bar = "#" * round(CHART_WIDTH * r["active_minutes"] / top)
        lines.append(f"  {r['date'][5:]} {text.pad(bar, CHART_WIDTH)} {r['active_minutes']}")
    lines.append("")
    if not d["reports"]:
        lines.append(tr("no drift reported"))
    for rep in d["reports"]:
        where = tr("sent to {n} consenting", n=len(rep["sent_to"])) if rep["sent_to"] else tr("kept in the flat")
        lines.append(tr("drift {date}: {kind} {before} -> {after} ({unit}); {where}", date=rep["date"],
                        kind=word(rep["kind"]), before=rep["before"], after=rep["after"], unit=_unit(rep["unit"]),
                        where=where))
    lines.append(tr("consents in force: {n}", n=d["consents_in_force"]))
    return lines


def show_consents(d: dict[str, Any]) -> list[str]:
    entries = d["consents"] if "consents" in d else [d["consent"]]
    if not entries:
        return [tr("no consent recorded: rhythm reports stay in the flat")]
    lines = []
    for e in entries:
        state = tr("revoked {at} by {by}", at=(e["revoked"] or "")[:16], by=e["revoked_by"]) if e["revoked"] else \
            tr("in force")
        lines.append(tr("{id}: {number} {name} may receive {what}; given {at}, recorded by {by}; {state}",
                        id=e["id"], number=e["number"], name=e["name"], what=e["subject"], at=e["given"][:16],
                        by=e["recorded_by"], state=state))
    return lines


def show_modem(d: dict[str, Any]) -> list[str]:
    m = d["modem"]
    if not m:
        return [tr("the uplink reports no modem status")]
    reg = m.get("registration") or {}
    signal = m.get("signal") or {}
    lines = [row("port", m.get("port") or tr("(none)")),
             row("connected", tr("yes") if m.get("connected") else tr("NO"))]
    if "sim" in m:
        lines.append(row("SIM", str(m["sim"])))
    if reg:
        lines.append(row("network", f"{reg.get('text', '?')}" + (f", {m['operator']}" if m.get("operator") else "")))
    if signal:
        dbm = f", {signal['dbm']} dBm" if signal.get("dbm") is not None else ""
        lines.append(row("signal", f"{signal.get('bars', 0)}/4 {signal.get('quality', '?')}{dbm}"))
    if m.get("model"):
        lines.append(row("model", str(m["model"])))
    outbox = m.get("outbox") or {}
    if outbox:
        lines.append(row("outbox", ", ".join(f"{n} {state}" for state, n in outbox.items()) or tr("empty")))
    for what, why in (m.get("problems") or {}).items():
        lines.append(row("problem", f"{what}: {why}"))
    if m.get("last_error"):
        lines.append(row("last error", str(m["last_error"])))
    return lines


# -- commands ---------------------------------------------------------------------------------


class Context:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.json = bool(getattr(args, "json", False))
        self._client: ControlClient | None = None

    @property
    def client(self) -> ControlClient:
        if self._client is None:
            path, group = socket_and_group(self.args)
            self._client = ControlClient(path, timeout=self.args.timeout, technician_group=group)
        return self._client

    def out(self, data: Any, human: Callable[[Any], list[str] | str]) -> None:
        if self.json:
            print(json.dumps(data, ensure_ascii=False))
        else:
            text = human(data)
            print(text if isinstance(text, str) else "\n".join(text))


def socket_and_group(args: argparse.Namespace) -> tuple[str, str]:
    """``--socket``, else the config's ``hub.socket`` (``--config`` or the default file), else the default."""
    hub = HubConfig()
    if args.config:
        hub = load_config(args.config).hub  # a broken --config is a config error (exit 2)
    elif not args.socket:
        try:
            hub = load_config(DEFAULT_PATH).hub
        except ConfigError:
            pass  # unreadable or absent: the daemon's default path is the best guess
    return args.socket or hub.socket, hub.technician_group


def output_language(args: argparse.Namespace) -> str:
    """``--lang``, else the hub's ``hub.language`` from ``--config`` or (without ``--socket``) the
    default config file, else English."""
    if getattr(args, "lang", None):
        return args.lang
    path = args.config or (None if args.socket else DEFAULT_PATH)
    if path:
        try:
            return load_config(path).hub.language
        except ConfigError:
            pass  # a broken --config is reported by the command itself
    return "en"


def simple(cmd: str, human: Callable[[Any], list[str] | str]):
    """A one-request command: its arguments (named as in the protocol's table) from the namespace,
    the reply through ``human`` or JSON."""

    def run(ctx: Context) -> int:
        args = {name: getattr(ctx.args, name) for name in p.COMMANDS[cmd].args}
        ctx.out(ctx.client.call(cmd, **args), human)
        return EXIT_OK

    return run


def cmd_watch(ctx: Context) -> int:
    final: dict[str, Any] = {}
    stream = ctx.client.stream("watch", seconds=ctx.args.seconds)
    try:
        if not ctx.json:
            print(tr("watching sensor events (Ctrl-C to stop)"), file=sys.stderr)
        for more, data in stream:
            if more:
                ctx.out(data, show_event)
            else:
                final = data
                if ctx.json:
                    print(json.dumps(data))
    except KeyboardInterrupt:
        return EXIT_OK  # Ctrl-C is how a watch normally ends
    finally:
        stream.close()
    if not ctx.json:
        dropped = tr(", {n} dropped (too fast)", n=final["dropped"]) if final.get("dropped") else ""
        print(tr("{n} events{dropped}", n=final.get("events", 0), dropped=dropped), file=sys.stderr)
    return EXIT_OK


def cmd_sensors(ctx: Context) -> int:
    if ctx.args.watch:
        return cmd_watch(ctx)
    ctx.out(ctx.client.call("sensors"), show_sensors)
    return EXIT_OK


def walktest_lines(data: dict[str, Any]) -> list[str]:
    phase = data["phase"]
    if phase == "start":
        lines = [tr("walktest: trigger each sensor ({limit} limit)", limit=duration(data["seconds"]))]
        lines += [f"  [ ] {s['id']:<16} {s['kind']:<9} {s['label']}".rstrip()
                  + (tr(" (checked by its reading)") if s.get("check") == "reading" else "") for s in data["sensors"]]
        return lines
    if phase == "reading":
        return [tr("{sensor} reads {watts} W  SEEN {seen}/{total}", sensor=f"{data['sensor']:<16}",
                   watts=f"{data['watts']:.0f}", seen=data["seen"], total=data["total"])]
    if phase == "trigger":
        mark = tr("SEEN {seen}/{total}", seen=data["seen"], total=data["total"]) if data["first"] else (
            "" if data["configured"] else tr("(not configured)"))
        return [f"{show_event(data)}  {mark}".rstrip()]
    if data["complete"]:
        return [tr("all {n} sensors seen", n=len(data["seen"]))]
    why = word(data["reason"]) if text.language() == "ja" else data["reason"].replace("_", " ")
    return [tr("seen {seen}, NOT SEEN {missing} ({why}):", seen=len(data["seen"]), missing=len(data["not_seen"]),
               why=why)] + [f"  [ ] {sid}" for sid in data["not_seen"]]


def cmd_walktest(ctx: Context) -> int:
    stream = ctx.client.stream("walktest", seconds=ctx.args.seconds)
    final: dict[str, Any] = {}
    try:
        for _, data in stream:
            ctx.out(data, walktest_lines)
            final = data
    except KeyboardInterrupt:
        print(tr("walktest stopped: not every sensor was checked"), file=sys.stderr)
        return EXIT_FAIL
    finally:
        stream.close()
    return EXIT_OK if final.get("complete") else EXIT_FAIL


def cmd_alerts(ctx: Context) -> int:
    if ctx.args.alerts_command == "ack":
        return cmd_ack(ctx)
    ctx.out(ctx.client.call("alerts", limit=ctx.args.limit, open=ctx.args.open), show_alerts)
    return EXIT_OK


def cmd_ack(ctx: Context) -> int:
    def show(d: dict[str, Any]) -> str:
        if "cancelled_by" in d:
            return tr("pre-alarm {id} cancelled by {who} (as the OK button): nothing goes to the office",
                      id=d["id"], who=d["cancelled_by"])
        return tr("alert {id} acknowledged by {who}", id=d["id"], who=d["acked_by"])
    ctx.out(ctx.client.call("ack", id=ctx.args.id), show)
    return EXIT_OK


def cmd_export(ctx: Context) -> int:
    """Event CSV to stdout or ``--output``; progress on stderr when it is a terminal."""
    if ctx.json and not ctx.args.output:
        raise Usage("export writes CSV; with --json give --output FILE (the summary is the JSON)")
    target = open(ctx.args.output, "w", encoding="utf-8", newline="") if ctx.args.output else sys.stdout
    progress = sys.stderr.isatty() and target is not sys.stdout
    try:
        final: dict[str, Any] = {}
        written = 0
        for more, data in ctx.client.stream("export", since=ctx.args.since):
            if more:
                target.write(data["csv"])
                written += data["csv"].count("\n")
                if progress:
                    print("\r" + tr("export: {n} lines", n=written), end="", file=sys.stderr, flush=True)
            else:
                final = data
    finally:
        if target is not sys.stdout:
            target.close()
    if progress:
        print(file=sys.stderr)
    if ctx.json:
        print(json.dumps({**final, "output": ctx.args.output}))
    elif target is not sys.stdout:
        print(tr("{n} events written to {path}", n=final["events"], path=ctx.args.output), file=sys.stderr)
    return EXIT_OK


def cmd_test_alert(ctx: Context) -> int:
    def human(d: dict[str, Any]) -> list[str]:
        to = ", ".join(d["to"])
        if d.get("queued", True):
            return [tr("test SMS {id} queued to {to}", id=d["id"], to=to), tr("check the phone; hubctl modem shows the outbox")]
        return [tr("test SMS {id} to {to}: {note}", id=d["id"], to=to, note=d.get("note") or tr("not queued")),
                tr("check the phone and hubctl status")]

    reply = ctx.client.call("test-alert", to=ctx.args.to, confirm=ctx.args.confirm)
    ctx.out(reply, human)
    return EXIT_OK if reply.get("queued", True) or reply.get("held") else EXIT_FAIL  # held: it is being sent


def show_commission_state(d: dict[str, Any]) -> list[str]:
    lines = [tr("commissioning flat {flat}", flat=d["flat_id"])] + [
        tr("  config: {problem}", problem=problem) for problem in d["config_problems"]]
    for step in d["checklist"]:
        done = d["steps"].get(step["step"]) or {}
        mark = {"ok": word("ok"), "failed": tr("FAILED")}.get(done.get("result"), tr("to do"))
        lines.append(f"  {step['step']:<22} {text.pad(mark, 6)} {done.get('note', '')}".rstrip())
    if d["handover"]:
        lines.append(tr("handed over {at} by {who}", at=d["handover"]["at"][:16].replace("T", " "),
                        who=d["handover"]["technician"]))
    return lines


def cmd_commission(ctx: Context) -> int:
    """The guided installation checklist (``hubd.commission``); ``--json``: the handover record on stdout."""
    out = sys.stderr if ctx.json else sys.stdout
    checklist = Checklist(ctx.client, say=lambda line: print(line, file=out, flush=True), ask=input,
                          sensor_seconds=ctx.args.sensor_seconds, office_seconds=ctx.args.office_minutes * 60.0)
    try:
        code, record = checklist.run(restart=ctx.args.restart)
    except (KeyboardInterrupt, EOFError):
        print(tr("\ncommission stopped: run `hubctl commission` again to go on from this step"), file=sys.stderr)
        return EXIT_FAIL
    if ctx.json and record is not None:
        print(json.dumps(record, ensure_ascii=False))
    return code


def cmd_report(ctx: Context) -> int:
    """A one-page picture of the flat's recent life, written to a local file (``hubd.report``)."""
    from . import report

    status = ctx.client.call("status")
    now_local = parse_time(status["now"]).local
    how, value = p.parse_since(ctx.args.since)
    since_local = value if how == "local" else now_local - value
    csv = "".join(data["csv"] for more, data in ctx.client.stream("export", since=ctx.args.since) if more)
    try:
        profile = ctx.client.call("profile").get("data")
    except p.ProtocolError as exc:
        if exc.code != p.NOT_AVAILABLE:
            raise
        profile = None  # the fixed timer learns no rhythm: the page says so
    alerts = ctx.client.call("alerts", limit=500)["alerts"]
    events = read_events(io.StringIO(csv))
    reports = ctx.client.call("rhythm", days=400)["reports"]
    summary = report.summarise(events, since_local, now_local, alerts, reports)
    try:
        report.write(ctx.args.out, summary, profile, status["flat_id"], now_local)
    except report.ReportUnavailable as exc:
        raise Usage(str(exc)) from None
    done = {"out": ctx.args.out, "days": summary["days"], "events": summary["events"],
            "alerts": len(summary["alerts"]), "drift": summary["drift"]}
    ctx.out(done, lambda d: [tr("report of {days} days ({events} events, {alerts} alerts) written to {out}; it "
                                "stays on this machine unless you copy it", **d)] + report.text_lines(summary))
    return EXIT_OK


def cmd_config_check(ctx: Context) -> int:
    from . import cli

    path = ctx.args.file or ctx.args.config
    if not ctx.json:
        return cli.cmd_config_check(argparse.Namespace(file=path, config=None))
    config = load_config(path)
    print(json.dumps({"ok": True, "file": config.source, "sensors": len(config.sensors),
                      "gpio_sensors": sum(1 for s in config.sensors if s.kind != "appliance"),
                      "recipients": len(config.modem.recipients), "detector": config.detector.mode,
                      "socket": config.hub.socket}))
    return EXIT_OK


def _sms_cli():
    """The modem team's SMS helpers if present; None means: use the PDU codec directly."""
    try:
        return importlib.import_module("hubd.modem.sms_cli")
    except ModuleNotFoundError as exc:
        if exc.name != "hubd.modem.sms_cli":  # a module it needs is missing: that is a real error
            raise
        return None


def cmd_sms_encode(ctx: Context) -> int:
    sms_cli = _sms_cli()
    try:
        if sms_cli is not None:
            lines = list(sms_cli.encode_lines(ctx.args.to, ctx.args.text))
        else:
            from .modem.pdu import encode_submit

            lines = [part.pdu for part in encode_submit(ctx.args.to, ctx.args.text)]
    except ValueError as exc:
        raise Usage(f"sms encode: {exc}") from None
    print(json.dumps({"to": ctx.args.to, "pdus": lines}) if ctx.json else "\n".join(lines))
    return EXIT_OK


def cmd_sms_decode(ctx: Context) -> int:
    sms_cli = _sms_cli()
    try:
        if sms_cli is not None:
            text = sms_cli.decode_json(ctx.args.pdu)
        else:
            from .modem.pdu import decode

            text = json.dumps(decode(ctx.args.pdu).as_dict(), ensure_ascii=False)
    except ValueError as exc:
        raise Usage(f"sms decode: {exc}") from None
    print(text)
    return EXIT_OK


# -- the parser -------------------------------------------------------------------------------


def protocol_value(cmd: str, name: str) -> Callable[[str], Any]:
    """argparse ``type`` for argument ``name`` of ``cmd``: checked by the protocol's own rule before
    anything is sent (a refusal is a usage error, exit 2)."""

    def convert(text: str) -> Any:
        try:
            return p.arg_from_text(cmd, name, text)
        except p.ProtocolError as exc:
            raise argparse.ArgumentTypeError(exc.message) from None

    return convert


def add_protocol_args(parser: argparse.ArgumentParser, cmd: str, positional: Sequence[str] = ()) -> None:
    """The options of ``cmd`` from the protocol's table: names, metavars, help, defaults and rules.
    Unset options stay None, so the server fills in the table's default."""
    for name, spec in p.COMMANDS[cmd].args.items():
        if spec.type is bool:
            parser.add_argument(f"--{name}", action="store_true", default=None, help=spec.help)
            continue
        default = "" if spec.default is None else f" (default {spec.default:g})"
        kwargs = dict(type=protocol_value(cmd, name), metavar=spec.metavar, help=spec.help + default)
        if name in positional:
            parser.add_argument(name, **kwargs)
        else:
            parser.add_argument(f"--{name}", default=None, required=spec.required, **kwargs)


def timeout_arg(text: str) -> float:
    """``--timeout``: a positive number of seconds (a socket refuses NaN, negatives and huge values)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (0 < value <= 86400):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds in (0, 86400]")
    return value



def build_parser() -> argparse.ArgumentParser:
    # options accepted before or after the command; SUPPRESS keeps a later default from hiding an earlier value
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print data as JSON")
    common.add_argument("--socket", default=argparse.SUPPRESS, metavar="PATH", help="the daemon's control socket")
    common.add_argument("--config", default=argparse.SUPPRESS, metavar="FILE", help="read the socket path from here")
    common.add_argument("--timeout", type=timeout_arg, default=argparse.SUPPRESS, metavar="S", help="reply timeout")
    common.add_argument("--lang", choices=text.LANGUAGES, default=argparse.SUPPRESS,
                        help="output language (default: the hub's hub.language)")

    parser = argparse.ArgumentParser(prog="hubctl", description="control a running hubd, or use its offline tools")
    parser.add_argument("--json", action="store_true", default=False, help="print data as JSON")
    parser.add_argument("--socket", default=None, metavar="PATH", help="the daemon's control socket")
    parser.add_argument("--config", default=None, metavar="FILE",
                        help=f"read the socket path from this config (default {DEFAULT_PATH})")
    parser.add_argument("--timeout", type=timeout_arg, default=10.0, metavar="S", help="reply timeout (default 10 s)")
    parser.add_argument("--lang", choices=text.LANGUAGES, default=None,
                        help="output language: en or ja (default: the hub's hub.language, else en)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, func: Callable[[Context], int], help: str) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, parents=[common], help=help, description=help)
        cmd.set_defaults(func=func)
        return cmd

    def command(name: str, func: Callable[[Context], int], positional: Sequence[str] = ()) -> argparse.ArgumentParser:
        """A subcommand that is one protocol command: its help and options from the table."""
        cmd = add(name, func, p.COMMANDS[name].help)
        add_protocol_args(cmd, name, positional)
        return cmd

    command("status", simple("status", show_status))
    c = add("sensors", cmd_sensors, p.COMMANDS["sensors"].help)
    c.add_argument("--watch", action="store_true", help=f"{p.COMMANDS['watch'].help}, until Ctrl-C")
    add_protocol_args(c, "watch")
    command("walktest", cmd_walktest)
    command("test-alert", cmd_test_alert)
    c = add("commission", cmd_commission, "guided installation checklist: config, each sensor, button, buzzer/LED, "
                                           "power, modem, office test confirmed by reply, then the handover record")
    c.add_argument("--restart", action="store_true", help="forget the steps done and start again")
    c.add_argument("--sensor-seconds", type=float, default=120.0, metavar="S",
                   help="how long to wait for each sensor (default 120)")
    c.add_argument("--office-minutes", type=float, default=15.0, metavar="M",
                   help="how long to wait for the office's OK reply (default 15)")
    c = add("report", cmd_report, "a one-page picture of the flat's recent life (activity, limits, alerts, drift) "
                                  "written to a local file")
    c.add_argument("--since", default="30d", type=protocol_value("export", "since"), metavar="WHEN",
                   help="from this local time or age (default 30d)")
    c.add_argument("--out", required=True, metavar="FILE", help="report.html (a page) or report.png (the picture)")
    # the checklist's parts, for scripts and for a step done by hand
    command("commission-state", simple("commission-state", show_commission_state))
    command("commission-step", simple("commission-step", lambda d: tr(
        "{step}: {result} at {at}", step=d["step"], result=word(d["result"]), at=d["at"][:16])))
    command("outputs-test", simple("outputs-test", lambda d: tr(
        "buzzer/LED: {pattern} for {seconds} s", pattern=word(d["pattern"]), seconds=f"{d['seconds']:g}")))
    command("handover", simple("handover", handover_lines))
    for name in ("away", "pause", "resume"):
        command(name, simple(name, show_mode))
    c = command("alerts", cmd_alerts)
    asub = c.add_subparsers(dest="alerts_command", metavar="ack")
    a = asub.add_parser("ack", parents=[common], help=p.COMMANDS["ack"].help)
    add_protocol_args(a, "ack", positional=("id",))
    command("ack", cmd_ack, positional=("id",))
    for name, show in (("events", show_events), ("audit", show_audit), ("profile", show_profile), ("modem", show_modem)):
        command(name, simple(name, show))
    command("rhythm", simple("rhythm", show_rhythm))
    c = add("consent", simple("consent-list", show_consents), p.COMMANDS["consent-list"].help)
    csub = c.add_subparsers(dest="consent_command", metavar="add|revoke|list")
    for name in ("add", "revoke", "list"):
        k = csub.add_parser(name, parents=[common], help=p.COMMANDS[f"consent-{name}"].help)
        add_protocol_args(k, f"consent-{name}", positional=("id",) if name == "revoke" else ())
        k.set_defaults(func=simple(f"consent-{name}", show_consents))
    c = command("export", cmd_export)
    c.add_argument("--output", "-o", default=None, metavar="FILE", help="write here instead of stdout")

    c = sub.add_parser("config", help="configuration tools (offline)")
    csub = c.add_subparsers(dest="config_command", required=True, metavar="check")
    k = csub.add_parser("check", parents=[common], help="validate a config file")
    k.add_argument("file", nargs="?", default=None)
    k.set_defaults(func=cmd_config_check)

    c = sub.add_parser("sms", help="SMS PDU codec (offline)")
    ssub = c.add_subparsers(dest="sms_command", required=True, metavar="encode|decode")
    k = ssub.add_parser("encode", parents=[common], help="PDU hex per part, one per line")
    k.add_argument("--to", required=True, metavar="NUMBER")
    k.add_argument("text")
    k.set_defaults(func=cmd_sms_encode)
    k = ssub.add_parser("decode", parents=[common], help="decode a PDU to JSON")
    k.add_argument("pdu")
    k.set_defaults(func=cmd_sms_decode)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage; report its status to in-process callers
        return int(exc.code or 0)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    before = text.language()
    text.set_language(output_language(args))
    try:
        return args.func(Context(args))
    except DaemonUnavailable as exc:
        message, hint = exc.templates
        print(f"hubctl: {tr(message, **exc.values)}; {tr(hint, **exc.values)}", file=sys.stderr)
        return EXIT_FAIL
    except p.ProtocolError as exc:
        print(f"hubctl {args.command}: {exc.message}", file=sys.stderr)
        return EXIT_USAGE if exc.code in USAGE_CODES else EXIT_FAIL
    except ConfigError as exc:
        print(tr("config error: {error}", error=exc), file=sys.stderr)
        return EXIT_USAGE
    except Usage as exc:
        print(f"hubctl: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:  # e.g. export --output into a missing directory
        print(f"hubctl: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        return 130
    finally:
        text.set_language(before)  # (main is also called in-process, by tests)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
