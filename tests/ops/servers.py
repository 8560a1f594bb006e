"""Throwaway servers for the fault tests: a PostgreSQL cluster and a redis-server, each on a free
loopback port in a temporary folder, so nothing of the machine's own servers is touched.

PostgreSQL comes from Debian's binaries (``/usr/lib/postgresql/<version>/bin``); ``initdb``
refuses to run as root, so as root the cluster runs as the ``postgres`` system user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> float:
    """Poll until ``condition()``; returns the seconds it took (AssertionError past the limit)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > seconds:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.05)
    return time.monotonic() - started


def postgres_bin() -> Path | None:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    return found[-1].parent if found else None


def missing_servers() -> str | None:
    """Why the fault tests cannot run here (None: they can)."""
    if postgres_bin() is None:
        return "Debian's PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are missing"
    if shutil.which("redis-server") is None:
        return "redis-server is missing"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run initdb as"
    return None


class PgCluster:
    """``initdb`` + ``pg_ctl`` in a temporary folder, on a free port (trust auth, loopback only)."""

    def __init__(self, listen: tuple[str, ...] = ()) -> None:
        self.listen = ("127.0.0.1", *listen)
        bin_dir = postgres_bin()
        assert bin_dir is not None
        self.bin = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="test-pgcluster-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            self.as_user = ["runuser", "-u", "postgres", "--"]
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        if listen:  # the test's network namespaces reach the cluster over their veth pairs
            with (self.data / "pg_hba.conf").open("a") as hba:
                hba.writelines(f"host all all {address}/24 trust\n" for address in listen)
        self.start()

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.as_user, str(self.bin / tool), *args],
            capture_output=True,
            text=True,
            check=check,
            cwd=self.root,
        )

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run("pg_ctl", "-D", str(self.data), *args, check=check)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses={','.join(self.listen)} "
            "-c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        self._pg_ctl("-o", options, "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "-w", "-t", "60", "stop", check=False)

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = self._run(
            "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database,
            "-At", "-v", "ON_ERROR_STOP=1", "-c", sql,
        )  # fmt: skip
        return result.stdout.strip()

    def create_database(self, name: str) -> str:
        self.psql(f'CREATE DATABASE "{name}"')
        return self.database_url(name)

    def close(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class RedisServer:
    """A redis-server without persistence (as a crash loses its queue) on a fixed free port."""

    def __init__(self, listen: tuple[str, ...] = ()) -> None:
        self.listen = ("127.0.0.1", *listen)
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="test-redis-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", *self.listen, "--save", "",
             "--appendonly", "no", "--dir", str(self.root), "--daemonize", "no",
             "--protected-mode", "no" if len(self.listen) > 1 else "yes"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(self.ping, 20, "redis-server to start")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: the queue it held is gone, as after a crash."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
            self.process = None

    def restart(self) -> None:
        self.kill()
        self.start()

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)


class NetnsHost:
    """An app "host" of its own: a network namespace joined to this one by a veth pair.

    ``address`` is the host's own address (its gunicorn binds there); ``gateway`` is this side's
    address, where the host reaches PostgreSQL and Redis. Needs root and ``ip`` (iproute2).
    """

    def __init__(self, index: int) -> None:
        tag = f"{os.getpid() % 100000}{index}"
        self.name = f"svy{tag}"
        self.outer, self.inner = f"svo{tag}"[:15], f"svi{tag}"[:15]
        net = 10 + (os.getpid() % 200)
        self.gateway, self.address = f"10.{net}.{index}.1", f"10.{net}.{index}.2"
        steps = [
            ["ip", "netns", "add", self.name],
            ["ip", "link", "add", self.outer, "type", "veth", "peer", "name", self.inner],
            ["ip", "link", "set", self.inner, "netns", self.name],
            ["ip", "addr", "add", f"{self.gateway}/24", "dev", self.outer],
            ["ip", "link", "set", self.outer, "up"],
            *(
                ["ip", "netns", "exec", self.name, *step]
                for step in (
                    ["ip", "addr", "add", f"{self.address}/24", "dev", self.inner],
                    ["ip", "link", "set", self.inner, "up"],
                    ["ip", "link", "set", "lo", "up"],
                )
            ),
        ]
        try:
            for step in steps:
                subprocess.run(step, check=True, capture_output=True, text=True)
        except (OSError, subprocess.CalledProcessError):
            self.close()
            raise

    @property
    def prefix(self) -> list[str]:
        """Put before a command to run it inside this host."""
        return ["ip", "netns", "exec", self.name]

    def close(self) -> None:
        subprocess.run(["ip", "link", "del", self.outer], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, check=False)


def netns_hosts(count: int) -> tuple[list[NetnsHost], str]:
    """``count`` namespace hosts, or none and the reason the loopback fallback is used."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return [], "network namespaces need root and iproute2"
    hosts: list[NetnsHost] = []
    try:
        for index in range(count):
            hosts.append(NetnsHost(index + 1))
    except (OSError, subprocess.CalledProcessError) as error:
        for host in hosts:
            host.close()
        detail = getattr(error, "stderr", "") or str(error)
        return [], f"network namespaces refused ({detail.strip()[:80]})"
    return hosts, ""
