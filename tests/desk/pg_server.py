"""A throw-away PostgreSQL server for tests and benchmarks: Debian's binaries, a temp data
directory, a Unix socket only (no network). As root it runs as the ``postgres`` user, since
initdb refuses root. Missing binaries fail loudly: a skipped PostgreSQL test hides that the
production database was never tried."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile



class PostgresMissing(RuntimeError):
    pass


def _bindir() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    if initdb:
        return os.path.dirname(initdb)
    raise PostgresMissing("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql")


class PostgresServer:
    def __init__(self):
        self.bindir = _bindir()
        self.root = tempfile.mkdtemp(prefix="hubdesk-pg-")
        self.data = os.path.join(self.root, "data")
        self.socket = self.root
        self._as = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            os.chmod(self.root, 0o755)
            self._as = ["runuser", "-u", "postgres", "--"]
        self.user = "postgres" if self._as else pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, *cmd: str) -> None:
        done = subprocess.run(self._as + list(cmd), capture_output=True, text=True)
        if done.returncode:
            raise PostgresMissing(f"{' '.join(cmd)} failed: {done.stderr.strip() or done.stdout.strip()}")

    def start(self) -> "PostgresServer":
        self._run(os.path.join(self.bindir, "initdb"), "-D", self.data, "-A", "trust", "-U", self.user,
                  "--no-sync", "-E", "UTF8")
        opts = f"-c listen_addresses='' -c unix_socket_directories={self.socket} -c fsync=off -c full_page_writes=off"
        self._run(os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-o", opts, "-w", "-t", "30",
                  "-l", os.path.join(self.root, "log"), "start")
        return self

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host={self.socket} user={self.user} dbname={dbname}"

    def create_database(self, name: str) -> str:
        import psycopg
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def stop(self) -> None:
        try:
            self._run(os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


