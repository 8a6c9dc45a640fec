"""``hubd``: the daemon and the offline tools (replay, backtest, config check).

Exit status: 0 ok, 1 failure, 2 usage or config error. Errors are one clear line,
never a traceback.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from typing import Sequence

from .config import Config, ConfigError, check_runnable, load_config, parse_config, with_secrets
from .events import EventCsvError, EventReader, parse_time

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


def _config_or_default(path: str | None) -> Config:
    return load_config(path) if path else parse_config({}, "(defaults)")


def _until(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return parse_time(text).mono
    except ValueError:
        raise UsageError(f"--until {text!r} is not an ISO 8601 time") from None


def counted(n: int, noun: str) -> str:
    """``1 sensor``, ``2 sensors``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def cmd_config_check(args: argparse.Namespace) -> int:
    config = load_config(args.file or args.config)
    try:
        config = with_secrets(config)
    except ConfigError as exc:  # e.g. a technician who may not read the service user's secrets
        print(f"note: secrets not checked: {exc}", file=sys.stderr)
    gpio = sum(1 for s in config.sensors if s.kind != "appliance")
    print(f"{config.source}: ok ({counted(len(config.sensors), 'sensor')}, {gpio} on GPIO, "
          f"{counted(len(config.modem.recipients), 'recipient')}, detector {config.detector.mode})")
    try:
        check_runnable(config)
    except ConfigError as exc:  # valid, but not yet for a flat: say so now, not when the hub is started
        print(f"note: hubd run will refuse it until this is fixed: {exc}", file=sys.stderr)
    return EXIT_OK


def _open_events(path: str):
    """The event CSV as text for :class:`EventReader`; bytes that are not UTF-8 arrive as
    surrogates, which the reader reports with their line number (never a traceback)."""
    if path == "-":
        raw = getattr(sys.stdin, "buffer", None)
        if raw is None:  # already text (tests, embedding)
            return sys.stdin
        return io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")
    try:
        return open(path, newline="", encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def _read_events(path: str) -> bytes | str:
    if path == "-":
        raw = getattr(sys.stdin, "buffer", None)
        return sys.stdin.read() if raw is None else raw.read()
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def say_when_compiling(stream=None):
    """On a terminal, one line when numba starts compiling (first run after an install or an
    upgrade): otherwise a replay is silent for half a minute. A cache hit compiles nothing.
    Returns the listener (None off a terminal) so that a caller may unregister it."""
    stream = sys.stderr if stream is None else stream
    if not stream.isatty():
        return None
    from numba.core import event

    class Notice(event.Listener):
        said = False

        def on_start(self, ev) -> None:
            if self.said:
                return
            self.said = True
            try:
                print("compiling the detector's kernels: first run after an install or upgrade, "
                      "about half a minute; cached afterwards", file=stream, flush=True)
            except (OSError, ValueError):  # the terminal went away: compiling goes on regardless
                pass

        def on_end(self, ev) -> None:
            pass

    notice = Notice()
    event.register("numba:compile", notice)
    return notice


def cmd_replay(args: argparse.Namespace) -> int:
    """Bulk by default (``replay.bulk.replay_log`` on columns from the fast loader); ``--per-event``
    feeds the engine one event at a time through the streaming reader (the reference: the
    output is byte-identical, only slower)."""
    from .replay.per_event import alert_line, replay

    config = _config_or_default(args.config)
    until = _until(args.until)
    say_when_compiling()

    reports = getattr(args, "reports", False)
    lines: list[dict] = []  # with --reports: the alerts, merged with the reports by time at the end

    def show(record, offset):
        line = alert_line(record, offset)
        if reports:
            lines.append(line)
        elif args.json:
            print(json.dumps(line, ensure_ascii=False), flush=False)
        else:
            extra = f" {line['sensor']}" if "sensor" in line else ""
            print(f"{line['time']}  {line['category']:<8} {line['type']}{extra}  "
                  f"(silent since {line['since']}, limit {line['threshold_s'] / 3600:.1f} h)")

    text = None
    if reports:  # the events are read once (a log on stdin cannot be read twice), for both passes
        raw = _read_events(args.events)
        text = raw.decode("utf-8", errors="surrogateescape") if isinstance(raw, bytes) else raw
    if getattr(args, "per_event", False):
        stream = io.StringIO(text, newline="") if text is not None else _open_events(args.events)
        reader = EventReader(stream)
        with stream:
            stats = replay(reader, config, until_mono=until, on_alert=lambda record: show(record, reader.offset))
    else:
        from .replay.bulk import replay_log  # numba: loaded only when bulk is used
        from .replay.loader import load_event_log

        stats = replay_log(load_event_log(text if text is not None else _read_events(args.events)), config,
                           until_mono=until, on_alert=show)
    if text is not None:
        _print_with_reports(lines, text, config, until, args.json)
    if not args.json:
        days = ((stats.last_local or 0) - (stats.first_local or 0)) / 86400
        print(f"{stats.events} events over {days:.1f} days, {len(stats.alerts)} alerts", file=sys.stderr)
    return EXIT_OK


def _print_with_reports(alerts: list[dict], text: str, config: Config, until: float | None, as_json: bool) -> None:
    """``hubd replay --reports``: the drift reports (``category: "report"``) among the alerts, by time."""
    from .core.wellbeing import report_line, replay_reports

    reader = EventReader(io.StringIO(text))
    events = (e for e in reader if until is None or e.mono <= until)
    found = [report_line(r, reader.offset) for r in replay_reports(events, config)]
    for line in sorted(alerts + found, key=lambda line: line["time"]):  # ISO times of one convention sort
        if as_json:
            print(json.dumps(line, ensure_ascii=False), flush=False)
        elif line["category"] == "report":
            print(f"{line['time']}  report   rhythm_drift {line['kind']}  ({line['before']} -> {line['after']} "
                  f"{line['unit']})")
        else:
            extra = f" {line['sensor']}" if "sensor" in line else ""
            print(f"{line['time']}  {line['category']:<8} {line['type']}{extra}  "
                  f"(silent since {line['since']}, limit {line['threshold_s'] / 3600:.1f} h)")


def cmd_backtest(args: argparse.Namespace) -> int:
    try:
        from .detector import backtest as bt
    except ImportError:
        print("hubd backtest: the learned detector is not part of this build", file=sys.stderr)
        return EXIT_FAIL
    config = _config_or_default(args.config)
    say_when_compiling()
    with _open_events(args.events) as stream:
        events = list(EventReader(stream))
    try:
        result = bt.run_backtest(events, config, cuts=args.cuts, seed=args.seed,
                                 progress=None if args.json else sys.stderr)
    except bt.BacktestInputError as exc:
        raise UsageError(f"{args.events}: {exc}") from None
    if args.json:
        print(json.dumps(result.as_dict()))
    else:
        print(result.format_table())
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from .daemon import run_daemon
    from .sensors.gpio import GpioSetupError

    config = with_secrets(load_config(args.config))
    check_runnable(config)
    try:
        return run_daemon(config)
    except GpioSetupError as exc:
        print(f"hubd run: {exc}", file=sys.stderr)
        print(f"next: {_gpio_advice(exc)}", file=sys.stderr)
        return EXIT_FAIL


def _gpio_advice(exc: BaseException) -> str:
    """What to do about a GPIO set-up failure: no GPIO on this machine at all, or one pin."""
    from gpiozero.exc import BadPinFactory

    cause = exc.__cause__
    if isinstance(cause, BadPinFactory):
        return ("this machine has no GPIO gpiozero can use. On the hub's Raspberry Pi install "
                "python3-lgpio; to try the hub anywhere else run 'hubd sim' (a simulated flat), "
                "or GPIOZERO_PIN_FACTORY=mock hubd run ... (mock pins: no sensor will ever change)")
    return ("check the sensor's pin in the config (BCM numbers), that no other program holds it, "
            "and that the service user is in the gpio group")


def cmd_sim(args: argparse.Namespace) -> int:
    """Run the daemon on simulated hardware: the simulator is found by entry point, never imported by name."""
    from importlib.metadata import entry_points

    found = list(entry_points(group="hubd.sim"))
    if not found:
        print("hubd sim: the hardware simulator is not installed (pip install -e ./hw-sim)", file=sys.stderr)
        return EXIT_FAIL
    main = found[0].load()
    return int(main(args.sim_args) or 0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hubd", description="home sensor hub daemon and offline tools")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the daemon")
    p.add_argument("--config", default=None, help="config file (default /etc/hubd/config.toml)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sim", help="run the daemon on simulated hardware with a scripted resident",
                       add_help=False)
    p.add_argument("sim_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_sim)

    p = sub.add_parser("replay", help="replay an event CSV through the detector and alert policy")
    p.add_argument("events", help="event CSV (time,sensor,kind,value), or - for stdin")
    p.add_argument("--config", default=None)
    p.add_argument("--until", default=None, help="stop at this time (ISO 8601); default: the last event")
    p.add_argument("--json", action="store_true", help="one JSON object per alert raised, nothing else")
    p.add_argument("--per-event", action="store_true",
                   help="feed the engine one event at a time (the reference path; same output, slower)")
    p.add_argument("--reports", action="store_true",
                   help="also the rhythm drift reports (category \"report\"), in time order among the alerts")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("backtest", help="false alarms and detection delay on an event CSV")
    p.add_argument("events")
    p.add_argument("--config", default=None)
    p.add_argument("--cuts", type=int, default=200,
                   help="simulated collapses per cut window, from day 3 and from day 8 (default 200 each)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_backtest)

    p = sub.add_parser("config", help="configuration tools")
    csub = p.add_subparsers(dest="config_command", required=True)
    c = csub.add_parser("check", help="validate a config file without a daemon")
    c.add_argument("file", nargs="?", default=None)
    c.add_argument("--config", default=None)
    c.set_defaults(func=cmd_config_check)
    return parser


def run_command(func, args) -> int:
    try:
        return func(args)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (UsageError, EventCsvError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sim"]:  # the simulator owns its options
        return run_command(cmd_sim, argparse.Namespace(sim_args=argv[1:]))
    parser = build_parser()
    args = parser.parse_args(argv)
    return run_command(args.func, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
