"""The daemon shell: one asyncio loop owns the engine; hardware threads only hand events over.

It executes the core's actions (outputs, SMS outbox, store, audit), persists state,
tells systemd it is alive only while the loop makes progress, and shuts down cleanly
on SIGTERM (outputs off, state flushed) and reloads its config on SIGHUP.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import signal
import sys
import threading
import time
import zlib
from typing import Any, Callable

from .core.actions import AlertChanged, Audit, Log, Report, SendSms, SetOutputs
from .sms_tag import Tag, TagError, label
from .clock import Clock, SystemClock
from .config import Config, ConfigError, check_runnable, load_config, with_secrets
from .findings import SYSTEM, Finding
from .core.engine import Engine
from .events import Event, Kind
from .core.office import OfficeCommands, report_text
from .sdnotify import Notifier
from .seams import UPLINK_DOWN, Hardware, Uplink
from .store import Store, StoreError

log = logging.getLogger("hubd")
# actions whose record must agree with the snapshot (an audit entry marks a change of mode too:
# "away ended, the resident is back" must not wait for the next batched flush)
_CONSEQUENCES = (AlertChanged, SendSms, Report, Audit)
UPLINK_RESTART_S, UPLINK_RESTART_MAX_S = 10.0, 900.0
# storage is told working again only after this long without an error: one alert per episode, not a
# "faulty"/"working again" pair for every write that fails between two that succeed
STORAGE_CALM_S = 300.0
_SYSLOG_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class JournalFormatter(logging.Formatter):
    """``<6>hubd.modem: message`` — journald reads the priority prefix; it adds the time itself."""

    def format(self, record: logging.LogRecord) -> str:
        prio = _SYSLOG_PRIORITY.get(record.levelno, 6)
        text = super().format(record)
        return "\n".join(f"<{prio}>{record.name}: {line}" for line in text.splitlines() or [""])


def stderr_is_journal(stream: Any = None, environ: Any = None) -> bool:
    """Whether ``stream`` (stderr) is the journal: systemd sets JOURNAL_STREAM to its device:inode."""
    stream = sys.stderr if stream is None else stream
    wanted = (os.environ if environ is None else environ).get("JOURNAL_STREAM", "")
    try:
        st = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return wanted == f"{st.st_dev}:{st.st_ino}"


def setup_logging(level: str = "info", stream: Any = None, environ: Any = None) -> None:
    """Priority prefixes for the journal; on a terminal (``hubd run`` by hand) the time and level instead."""
    handler = logging.StreamHandler(stream)
    if stderr_is_journal(handler.stream, environ):
        handler.setFormatter(JournalFormatter("%(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def read_boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as fh:
            return fh.read().strip()
    except OSError:
        return ""


class Daemon:
    def __init__(self, config: Config, clock: Clock, hardware: Hardware, uplink: Uplink, store: Store,
                 notifier: Notifier | None = None, boot_id: str | None = None,
                 engine_factory: Callable[[Config], Engine] | None = None,
                 hardware_factory: Callable[[Config], Hardware] | None = None, control: bool = True):
        self.config = config
        self.clock = clock
        self.hardware = hardware
        self.uplink = uplink
        self.store = store
        self.notifier = notifier or Notifier()
        self.boot_id = read_boot_id() if boot_id is None else boot_id
        self.engine_factory = engine_factory or (lambda cfg: Engine(cfg))
        self.hardware_factory = hardware_factory
        self.engine = self.engine_factory(config)
        self.office = OfficeCommands(config)
        self._inbox: collections.deque[Event] = collections.deque()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._reload_requested = False
        self._next_flush = 0.0
        self._next_prune = 0.0
        self._urgent_flush = False
        self._hardware_next: float | None = None
        self.progress = time.monotonic()  # real time of the last loop step, for the watchdog
        self.waiting = False  # idle in _wait: everything due has been done (harnesses on a fake clock look)
        self.listeners: list[Callable[[Event], None]] = []  # e.g. hubctl sensors --watch
        self.storage_ok = True
        self._last_storage_error = float("-inf")
        self._submitted: list[int] = []  # outbox ids of the SMS queued by the current apply()
        self.control_enabled = control
        self.control: Any = None

    # -- handing over from other threads ----------------------------------------
    def sink(self, sensor: str, kind: Kind, value: float, mono: float) -> None:
        """Called from hardware callback threads: stamp and hand over, nothing else."""
        local = self.clock.local() - (self.clock.monotonic() - mono)
        self._inbox.append(Event(mono, local, sensor, kind, float(value)))
        self._poke()

    def handle_now(self, sensor: str, kind: Kind, value: float) -> None:
        """An event from a command on the loop (a technician's OK): stored and handled before the answer."""
        self.sink(sensor, kind, value, self.clock.monotonic())
        self._drain()

    def conditions(self, ident: tuple[str, str], finding: Finding | None) -> None:
        if self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._apply_condition, ident, finding)

    def _poke(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if on_loop:  # e.g. a power read's result taken on the loop: awake from now on, not one turn later
            wake.set()
        else:
            loop.call_soon_threadsafe(wake.set)

    @property
    def idle(self) -> bool:
        """Asleep until its next deadline with nothing waiting to be handled: a harness on a fake
        clock may move time on (the clock's sleepers then name the daemon's next deadline)."""
        return self.waiting and self._wake is not None and not self._wake.is_set()

    def request_stop(self) -> None:
        self._stopping = True
        self._poke()

    def wake(self) -> None:
        """Re-plan the wait now (a simulator changed its clock's speed)."""
        self._poke()

    def request_reload(self) -> None:
        self._reload_requested = True
        self._poke()

    # -- the loop ----------------------------------------------------------------
    async def run(self) -> int:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._install_signals()
        mono, local, synced = self.clock.monotonic(), self.clock.local(), self.clock.synced()
        snap = self._load_snapshot()
        if snap is not None:
            self._execute(self.engine.restore(snap, mono, local, self.boot_id, synced=synced), local)
        else:
            self._execute(self.engine.start_fresh(mono, local, synced), local)
        if self.store.set_aside:  # a damaged store was moved aside at start-up: the office must know
            self._store_reset_notice(self.store.set_aside, learned_lost=True)
        self._start_hardware()
        await self._start_control()
        uplink_task = asyncio.ensure_future(self._keep_uplink())
        watchdog_task = asyncio.ensure_future(self._watchdog()) if self.notifier.watchdog_interval else None
        self._next_flush = mono + self.config.hub.flush_seconds
        self._flush(force=True)
        if self.store.volatile:  # the state directory could not be opened: watch, and say so
            self._storage_failed(StoreError(self.store.volatile))
        self.notifier.ready(f"watching {len(self.config.sensors)} sensors")
        log.info("hubd ready: flat %s, %d sensors, detector %s", self.config.hub.flat_id,
                 len(self.config.sensors), type(self.engine.detector).__name__)
        try:
            while not self._stopping:
                await self._step()
        finally:
            self.notifier.stopping()
            for task in (uplink_task, watchdog_task):
                if task is not None:
                    task.cancel()
            await asyncio.gather(*(t for t in (uplink_task, watchdog_task) if t is not None), return_exceptions=True)
            if self.control is not None:
                self.control.close()
            self._shutdown()
        return 0

    async def _keep_uplink(self) -> None:
        """The only way to the office must not end quietly: an uplink whose task ends or raises
        (its own supervision failed) is reported as ``uplink_down`` and started again."""
        delay = UPLINK_RESTART_S
        while True:
            try:
                await self.uplink.run(self.conditions, self._on_inbound)
                why = "ended"
            except Exception as exc:  # noqa: BLE001 - reported and restarted, never left dead
                why = f"failed: {exc!r}"
            log.error("uplink task %s; restarting it in %.0f s", why, delay)
            mono = self.clock.monotonic()
            self._apply_condition(UPLINK_DOWN, Finding("uplink_down", SYSTEM, mono, 0.0,
                                                       detail={"reason": f"uplink task {why}"}))
            await self.clock.sleep(delay)
            delay = min(delay * 2, UPLINK_RESTART_MAX_S)

    def _start_hardware(self) -> None:
        if hasattr(self.hardware, "wake"):
            self.hardware.wake = self._poke
        self.hardware.start(self.sink, self.conditions)

    async def _start_control(self) -> None:
        """hubctl's socket; a hub that cannot open it still watches, and says why in the log."""
        if not self.control_enabled:
            return
        from .control.server import attach

        try:
            self.control = attach(self)
            await self.control.start()
        except OSError as exc:
            log.error("control socket %s unavailable, hubctl will not reach this daemon: %s",
                      self.config.hub.socket, exc)
            self.control = None

    async def _step(self) -> None:
        self.progress = time.monotonic()
        if self.store.damage:  # between two steps nothing is half-written: the safe moment
            self._replace_damaged_store()
        now = self.clock.monotonic()
        if self._reload_requested:
            self._reload_requested = False
            self._reload()
        # levels that came due while the loop was away (a stalled Pi, a fast simulated clock) are
        # settled before the engine moves on, so they keep their own time instead of now's
        self._hardware_next = self.hardware.service(now)
        self._drain()
        now = self.clock.monotonic()
        local = self.clock.local()
        if self.engine.unknown is not None and self.clock.synced():  # time is known now: judge again at once
            self._execute(self.engine.wall_clock_set(now, local), local)
        self._execute(self.engine.tick(now, local), local)
        if now >= self._next_prune:
            self._prune(local)
            self._next_prune = now + 86400.0
        self._flush()
        if self._inbox or self._stopping or self._reload_requested:
            return
        wake_at = [now + self.config.hub.tick_seconds, self._next_flush if self.store.pending_events else None,
                   self.engine.next_deadline(now), self._hardware_next]
        deadline = min(t for t in wake_at if t is not None)
        await self._wait(max(0.0, deadline - now))

    async def _wait(self, seconds: float) -> None:
        assert self._wake is not None
        if self._wake.is_set():
            self._wake.clear()
            return
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        real_cap = self.notifier.watchdog_interval / 4 if self.notifier.watchdog_interval else None
        try:
            await asyncio.sleep(0)  # both have started: the clock knows this deadline before we say idle
            self.waiting = True
            await asyncio.wait({sleeper, waker}, timeout=real_cap, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.waiting = False
            for task in (sleeper, waker):
                task.cancel()
            self._wake.clear()

    def _drain(self) -> None:
        """Hand what the sensors said to the engine in the order it happened: callbacks from
        several threads, and debounced levels settled after later edges, arrive crossed."""
        last = self.engine.now
        while self._inbox:
            batch = []
            while self._inbox:
                batch.append(self._inbox.popleft())
            batch.sort(key=lambda event: event.mono)
            for event in batch:
                if last is not None and event.mono < last:  # older than what the engine has judged
                    event = Event(last, event.local + (last - event.mono), event.sensor, event.kind, event.value)
                last = event.mono
                self.store.add_event(event)
                self._execute(self.engine.handle(event), event.local)
                self._execute(self.engine.observe_rhythm(event), event.local)
                for listener in list(self.listeners):
                    listener(event)

    def _apply_condition(self, ident: tuple[str, str], finding: Finding | None) -> None:
        mono, local = self.clock.monotonic(), self.clock.local()
        self._execute(self.engine.report_condition(finding, ident, mono, local), local)
        self._poke()

    # -- actions -----------------------------------------------------------------
    def apply(self, actions: list, local: float) -> list[int]:
        """Execute actions from a command (hubctl, SMS) now, persist at once, and re-plan the wait;
        returns the outbox ids of the SMS queued (``uplink.on_disk`` says which reached the disk)."""
        self._submitted = []
        self._execute(actions, local, durable=True)  # a mode set by a technician must survive a power cut
        self._poke()
        return list(self._submitted)

    def _execute(self, actions: list, local: float, durable: bool = False) -> None:
        """Carry out the engine's actions. What tells the world something (an alert record, an SMS
        queued, a report, an audit entry) commits in one transaction with the engine snapshot that decided it: after
        a power cut the restored engine is never behind what it already told the office (it would
        reuse the alert's id and text the same alarm again)."""
        if durable or any(isinstance(a, _CONSEQUENCES) for a in actions):
            done = 0
            try:
                with self.store.transaction():
                    for action in actions:
                        self._execute_one(action, local)
                        done += 1
                    self.store.flush(self.engine.snapshot(self.clock.monotonic(), self.clock.local(), self.boot_id),
                                     dated=True)
                return
            except StoreError as exc:
                log.error("%s: keeping what can be kept, one action at a time", exc)
                self._urgent_flush = True  # and the snapshot at the next chance
                # nothing written was kept; outputs already set and lines already logged stay done, and
                # an SMS handed over stays with the uplink (its outbox holds it and retries it to disk)
                actions = [a for i, a in enumerate(actions)
                           if i >= done or not isinstance(a, (SetOutputs, Log, SendSms))]
        for action in actions:
            try:
                self._execute_one(action, local)
            except StoreError as exc:
                self._storage_failed(exc)

    def _execute_one(self, action: Any, local: float) -> None:
        if isinstance(action, SetOutputs):
            self.hardware.set_outputs(action.pattern)
        elif isinstance(action, SendSms):
            self._submitted.append(self.uplink.submit(action.to, action.text, action.purpose, action.alert_id,
                                                      self._label(action.kind, action.alert_id)))
        elif isinstance(action, AlertChanged):
            rec = action.record
            log.warning("alert %s %s %s%s", rec["id"], rec["type"], rec["stage"],
                        f" ({rec['key']})" if rec.get("key") else "")
            self._urgent_flush = True
            self.store.record_alert(rec)
        elif isinstance(action, Audit):
            self.store.audit(local, action.actor, action.action, action.detail)
        elif isinstance(action, Log):
            log.log(logging.getLevelName(action.level.upper()), action.message)
        elif isinstance(action, Report):
            self._send_report(action, local)

    def _label(self, kind: str, alert_id: int | None) -> Tag | None:
        """The tag for a text of ``kind`` (``sms_tag``); a kind without a code is sent untagged and
        logged: a text the desk cannot file is better than an alarm not sent."""
        try:
            return label(self.config.hub.flat_id, kind, alert_id)
        except TagError as exc:
            log.error("SMS sent without its tag: %s", exc)
            return None

    def _send_report(self, report: Report, local: float) -> None:
        """A heartbeat says the hub is alive and what it can see; a missing one says it is not."""
        recipients = self.engine.policy.recipients
        if not recipients:
            return
        text = report_text(report, self.uplink.status() or {}, self.config)
        self.uplink.submit(recipients[0], text, report.kind, None, self._label(report.kind, None))
        self.store.audit(local, "hub", "report", {"kind": report.kind})

    def _storage_failed(self, exc: StoreError) -> None:
        """A hub that cannot remember must say so, locally at least (a damaged file is not raised
        as a fault: it is replaced at the next step, and that is told instead)."""
        log.error("%s", exc)
        if self.store.damage and not self.store.volatile:
            return
        self._last_storage_error = self.clock.monotonic()
        if self.storage_ok:
            self.storage_ok = False
            mono = self.clock.monotonic()
            finding = Finding("sensor_fault", "system", mono, 0.0, key="storage", detail={"error": str(exc)})
            self._execute(self.engine.report_condition(finding, ("sensor_fault", "storage"), mono, self.clock.local()),
                          self.clock.local())

    def _flush(self, force: bool = False) -> None:
        now = self.clock.monotonic()
        if not (force or self._urgent_flush or now >= self._next_flush):
            return
        try:  # while storage is failing the snapshot is always written: a probe of the disk
            self.store.flush(self.engine.snapshot(now, self.clock.local(), self.boot_id),
                             dated=force or self._urgent_flush or not self.storage_ok)
            if not self.storage_ok and not self.store.volatile and now - self._last_storage_error >= STORAGE_CALM_S:
                self.storage_ok = True
                self._execute(self.engine.report_condition(None, ("sensor_fault", "storage"), now, self.clock.local()),
                              self.clock.local())
        except StoreError as exc:
            self._storage_failed(exc)
        self._urgent_flush = False
        self._next_flush = now + self.config.hub.flush_seconds

    def _prune(self, local: float) -> None:
        try:
            self.store.prune_events(local - self.config.hub.event_retention_days * 86400.0)
        except StoreError as exc:
            self._storage_failed(exc)

    def _load_snapshot(self) -> dict | None:
        """The stored engine state; an unreadable one makes the store damaged: it is set aside."""
        try:
            return self.store.load_snapshot()
        except (StoreError, ValueError, zlib.error) as exc:
            log.error("stored state unreadable, starting fresh: %s", exc)
            self.store.replace_damaged(f"stored engine state unreadable: {exc}")
            return None

    def _replace_damaged_store(self) -> None:
        """Damage met at run time: a fresh file, written at once from memory (the engine lost nothing)."""
        info = self.store.replace_damaged()
        self._flush(force=True)
        self._store_reset_notice(info, learned_lost=False)
        if self.store.volatile:
            self._storage_failed(StoreError(self.store.volatile))

    def _store_reset_notice(self, info: dict, learned_lost: bool) -> None:
        """One notice per damaged store: where it was kept and why (at start-up the learned state is lost)."""
        mono, local = self.clock.monotonic(), self.clock.local()
        detail = {**info, "learned_state_lost": learned_lost}
        finding = Finding("store_reset" if learned_lost else "store_replaced", SYSTEM, mono, 0.0, key="storage",
                          detail=detail)
        self._execute(self.engine.policy.notify(finding, mono, local), local)

    # -- inbound SMS commands ----------------------------------------------------
    def _on_inbound(self, sender: str, text: str, numeric: bool = False) -> None:
        """An SMS from the modem: the office rules decide (hubd.core.office); this only carries them out."""
        mono, local = self.clock.monotonic(), self.clock.local()
        self.apply(self.office.on_sms(sender, text, numeric, self.engine, mono, local), local)

    def status_text(self) -> str:
        return self.office.status_text(self.engine, self.clock.monotonic(), self.clock.local())

    # -- lifecycle ---------------------------------------------------------------
    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        assert self._loop is not None
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._loop.add_signal_handler(sig, self.request_stop)
        self._loop.add_signal_handler(signal.SIGHUP, self.request_reload)

    def _reload(self) -> None:
        mono, local = self.clock.monotonic(), self.clock.local()
        try:
            new = with_secrets(load_config(self.config.source))
            check_runnable(new)  # a reload must not leave the hub with nobody to text
        except ConfigError as exc:
            log.error("reload refused, keeping the running config: %s", exc)
            self._execute([Audit("hub", "reload_failed", {"error": str(exc)})], local)
            return
        snap = self.engine.snapshot(mono, local, self.boot_id)
        hardware_changed = (new.sensors, new.outputs) != (self.config.sensors, self.config.outputs)
        self.config = new
        self.engine = self.engine_factory(new)
        self.office = self.office.reconfigured(new)
        self._execute(self.engine.restore(snap, mono, local, self.boot_id, restarted=False,
                                          synced=self.clock.synced()), local)
        if hardware_changed and self.hardware_factory is not None:
            self.hardware.close()
            self.hardware = self.hardware_factory(new)
            self._start_hardware()
        log.info("config reloaded from %s", new.source)

    def _shutdown(self) -> None:
        try:
            self.hardware.close()
        finally:
            self._drain()
            try:
                self.store.flush(self.engine.snapshot(self.clock.monotonic(), self.clock.local(), self.boot_id),
                                 dated=True)  # the restart notice says how long the hub was down
            except StoreError as exc:
                log.error("final state flush failed: %s", exc)
            self.uplink.close()
            log.info("hubd stopped")

    async def _watchdog(self) -> None:
        """WATCHDOG=1 only while the main loop is stepping: a hung loop gets the hub restarted."""
        interval = self.notifier.watchdog_interval
        assert interval
        while True:
            await asyncio.sleep(interval / 2)
            if time.monotonic() - self.progress < interval:
                self.notifier.watchdog()


def run_daemon(config: Config, clock: Clock | None = None) -> int:
    """``hubd run``: real hardware, real modem."""
    setup_logging(config.hub.log_level)
    from .board import build_hardware, build_uplink

    clock = clock or SystemClock()
    try:
        store = Store(config.hub.state_dir)
    except StoreError as exc:  # read-only or full SD card, wrong permissions: still watch, and say so
        log.error("%s; watching with the state in memory only: nothing will survive a restart", exc)
        store = Store.in_memory(str(exc))
    daemon = Daemon(config, clock, build_hardware(config, clock), build_uplink(config, clock, store), store,
                    hardware_factory=lambda cfg: build_hardware(cfg, clock))
    return asyncio.run(daemon.run())
