"""A real gammu-smsd for the desk tests: gammu's dummy phone (a folder that acts as a phone) on
SQLite or PostgreSQL, texts dropped into it as they would arrive from the network, and a
deadline-bound wait (no sleeps in the assertions' place: each wait polls up to a deadline)."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

DEADLINE_S = 20.0
PHONE_ID = "office1"
FOLDERS = ("sms/1", "sms/2", "sms/3", "sms/4", "sms/5", "pbk", "note", "todo", "calendar", "fs", "alarm")


def need(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        pytest.fail(f"{binary} is not installed: apt-get install gammu gammu-smsd libdbd-sqlite3", pytrace=False)
    return path


def need_dbd_sqlite() -> None:
    if not any(os.path.exists(os.path.join(d, "dbd", "libdbdsqlite3.so"))
               for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib")):
        pytest.fail("libdbd-sqlite3 is not installed: apt-get install libdbd-sqlite3", pytrace=False)


def sms_file(number: str, text: str, udh: str = "", sent: float | None = None) -> str:
    """A received SMS in gammu's backup format; ``sent``: its network time stamp (epoch seconds)."""
    when = dt.datetime.fromtimestamp(sent, dt.timezone.utc) if sent is not None else dt.datetime(2026, 12, 7, 1)
    return ("[SMSBackup000]\n"
            f'Number = "{number}"\n'
            f"Coding = Unicode_No_Compression\nFolder = 1\nSent = {when:%Y%m%dT%H%M%SZ}\nState = UnRead\n"
            + (f"UDH = {udh}\n" if udh else "") +
            f"Text00 = {text.encode('utf-16-be').hex().upper()}\n")


class DummyPhoneGateway:
    """gammu-smsd on a dummy phone in ``where``; ``backend``: the [smsd] lines for its database."""

    def __init__(self, where: Path, backend: str, debug: bool = False):
        self.smsd = need("gammu-smsd")
        self.phone = where / "phone"
        for sub in FOLDERS:
            (self.phone / sub).mkdir(parents=True)
        self.log = where / "smsd.log"
        self.rc = where / "smsdrc"
        self.rc.write_text(f"[gammu]\nmodel = dummy\nconnection = none\ndevice = {self.phone}/\n"
                           f"[smsd]\nservice = sql\n{backend}\nlogfile = {self.log}\nReceiveFrequency = 1\n"
                           f"CommTimeout = 1\nStatusFrequency = 0\nPhoneID = {PHONE_ID}\n"
                           + ("DebugLevel = 255\n" if debug else ""))
        self.proc: subprocess.Popen | None = None
        self._names = itertools.count(1)

    @classmethod
    def sqlite(cls, where: Path, dbdir: Path, debug: bool = False) -> "DummyPhoneGateway":
        need_dbd_sqlite()
        return cls(where, f"driver = sqlite3\nsql = sqlite\ndatabase = smsd.db\ndbdir = {dbdir}/", debug)

    def start(self) -> "DummyPhoneGateway":
        # gammu-smsd writes and compares its time stamps in local time: the desk reads them as UTC
        self.proc = subprocess.Popen([self.smsd, "-c", str(self.rc)], env={**os.environ, "TZ": "UTC"},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)

    def drop(self, number: str, text: str, udh: str = "", sent: float | None = None) -> Path:
        """A text arriving from the network: a file in the phone's inbox folder."""
        path = self.phone / "sms" / "1" / str(next(self._names))
        path.write_text(sms_file(number, text, udh, sent))
        return path

    def inbox_empty(self) -> bool:
        """every dropped text taken by gammu-smsd"""
        return not any((self.phone / "sms" / "1").iterdir())


def until(what, deadline_s: float = DEADLINE_S, tick=None):
    """``what()`` once it is truthy, calling ``tick`` between looks; fails at the deadline."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if tick:
            tick()
        found = what()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"not within {deadline_s} s: {what.__doc__}", pytrace=False)
