"""Two app "hosts" on one PostgreSQL and one Redis under a crowd of survey takers, with a
PostgreSQL restart and a Redis kill in the middle. The short form runs in ``make test``
(tests/ops/test_two_hosts_load.py), the long one in ``make bench`` (benchmarks/fault_load.py).

Each host is a gunicorn (the shipped gunicorn.conf.py, 2 workers) and a ``flask worker`` in a
network namespace of its own, joined by a veth pair, so the two hosts have their own addresses
and reach PostgreSQL and Redis over their links; where namespaces are refused (not root, no
iproute2) the hosts fall back to two loopback ports and the output says so.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import TEST_KEYS  # noqa: E402
from tests.ops.servers import PgCluster, RedisServer, free_port, netns_hosts, wait_for  # noqa: E402
from tests.ops.walk import Walk, decode, walk  # noqa: E402

SECRET = "load-test-secret-" + "y" * 40


@dataclass
class LoadResult:
    surveys: int
    clients: int
    elapsed: float
    outcomes: Counter[str]
    statuses: Counter[int]
    submit_latencies: list[float]
    submits_retried: int
    stored: int
    duplicated: int
    lost: int
    left_in_pool: int
    completed_flags: int
    counted: int
    events: list[str] = field(default_factory=list)
    hosts: str = ""

    @property
    def ok(self) -> bool:
        return (
            self.lost == 0
            and self.duplicated == 0
            and self.left_in_pool == 0
            and self.stored == self.surveys == self.completed_flags == self.counted
            and not [s for s in self.statuses if s >= 500 and s != 503]
            and set(self.outcomes) <= {"thanks", "already"}
        )

    def lines(self) -> list[str]:
        lat = sorted(self.submit_latencies)

        def pct(share: float) -> float:
            return lat[min(len(lat) - 1, round(share * (len(lat) - 1)))] * 1000 if lat else 0

        errors = {s: n for s, n in self.statuses.items() if s >= 500 or s == -1}
        return [
            f"{self.surveys} surveys, {self.clients} clients; two hosts, each gunicorn (2 workers)"
            f" + a mail worker, on one PostgreSQL and one Redis; hosts: {self.hosts}",
            "events: " + "; ".join(self.events),
            f"submissions per second: {self.surveys / self.elapsed:.1f} ({self.elapsed:.1f} s)",
            f"submit latency (first try to stored, retries included): p50 {pct(0.5):.0f} ms, "
            f"p99 {pct(0.99):.0f} ms",
            f"errors seen by clients: {errors or 'none'} (-1 = connection refused or reset); "
            f"submits answered 503 then retried: {self.submits_retried}",
            f"outcomes: {dict(self.outcomes)}",
            f"check: {self.stored} stored, {self.completed_flags} invitations completed, "
            f"{self.counted} counted, {self.lost} lost, {self.duplicated} duplicated, "
            f"{self.left_in_pool} left in the pool after the close -> "
            + ("OK" if self.ok else "FAILED"),
        ]


def seed(url: str, surveys: int) -> tuple[int, list[str]]:
    from sqlalchemy.orm import Session

    from app.db import make_engine
    from app.migrate import upgrade
    from tests.survey import helpers

    engine = make_engine(url)
    upgrade(engine)
    # Tokens are random and sealed to the test mailer key, whose files the hosts get too.
    with Session(engine) as session:
        seeded = helpers.seed_wave(session, invitations=50, units=(surveys + 49) // 50, pool_k=10)
    engine.dispose()
    return seeded.wave_id, seeded.tokens[:surveys]


def _env(url: str, redis_url: str, instance: Path) -> dict[str, str]:
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET,
        **TEST_KEYS.settings(),
        "APP_ENV": "development",  # plain-HTTP clients keep their session cookie
        "INSTANCE_PATH": str(instance),
        "GUNICORN_LOGLEVEL": "warning",
        "MAIL_BACKEND": "outbox",
    }


@contextmanager
def _process(command: list[str], env: dict[str, str], log: Path) -> Any:
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _gunicorn(prefix: list[str], bind: str, env: dict[str, str], log: Path) -> Any:
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    command = [*prefix, gunicorn, "-c", str(ROOT / "gunicorn.conf.py"), "--workers", "2"]
    return _process([*command, "--bind", bind, "wsgi:app"], env, log)


class _Clients:
    """``threads`` people walking surveys from one shared list, in this process.

    Threads, not processes: a pool of spawned processes did not start inside the full test
    session, and the light client keeps well below what the two hosts can serve here.
    """

    def __init__(self, jobs: list[tuple[int, str, tuple[str, int]]], threads: int) -> None:
        self.queue = list(reversed(jobs))
        self.results: list[tuple[int, Walk]] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._person, daemon=True) for _ in range(threads)]

    @property
    def done(self) -> int:
        with self.lock:
            return len(self.results)

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _person(self) -> None:
        while True:
            with self.lock:
                if not self.queue:
                    return
                index, token, (host, port) = self.queue.pop()
            seen = walk(host, port, token, index, patience=120)
            with self.lock:
                self.results.append((index, seen))


def run(surveys: int, clients: int = 64, *, workdir: Path) -> LoadResult:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from app.db import make_engine
    from app.models import DailyCount, Invitation, PendingResponse, Response
    from app.services import waves

    events: list[str] = []
    with ExitStack() as stack:
        namespaces, refused = netns_hosts(2)
        for namespace in namespaces:
            stack.callback(namespace.close)
        gateways = tuple(n.gateway for n in namespaces)
        cluster = PgCluster(listen=gateways)
        stack.callback(cluster.close)
        redis = RedisServer(listen=gateways)
        stack.callback(redis.close)
        url = cluster.create_database(f"load_{uuid.uuid4().hex[:8]}")
        wave_id, tokens = seed(url, surveys)
        if namespaces:
            places = [(n.prefix, n.address, 8000, n.gateway) for n in namespaces]
            hosts = (
                "two network namespaces joined by veth pairs ("
                + ", ".join(f"{n.address}:8000" for n in namespaces)
                + ")"
            )
        else:
            places = [([], "127.0.0.1", free_port(), "127.0.0.1") for _ in range(2)]
            hosts = f"two loopback ports, no network namespaces: {refused}"
        targets = []
        processes: list[subprocess.Popen[bytes]] = []
        for name, (prefix, address, port, gateway) in zip("ab", places, strict=True):
            env = _env(
                url.replace("127.0.0.1", gateway),
                redis.url.replace("127.0.0.1", gateway),
                workdir / f"instance-{name}",
            )
            log = workdir / f"gunicorn-{name}.log"
            processes.append(stack.enter_context(_gunicorn(prefix, f"{address}:{port}", env, log)))
            worker = [*prefix, sys.executable, "-m", "flask", "--app", "wsgi", "worker"]
            processes.append(
                stack.enter_context(_process(worker, env, workdir / f"worker-{name}.log"))
            )
            targets.append((address, port))
        import requests

        for target in targets:
            wait_for(
                lambda target=target: _ready(requests, target),  # type: ignore[misc]
                90,
                f"gunicorn on {target}",
            )
        jobs = [(i, token, targets[i % 2]) for i, token in enumerate(tokens)]
        clients_ = _Clients(jobs, clients)
        started = time.perf_counter()
        clients_.start()
        wait_for(lambda: clients_.done >= surveys // 3, 600, "a third of the surveys")
        cluster.restart("fast")
        events.append(f"PostgreSQL restarted (fast) after {clients_.done} surveys")
        wait_for(lambda: clients_.done >= 2 * surveys // 3, 600, "two thirds of the surveys")
        redis.kill()
        redis.start()
        events.append(f"Redis SIGKILLed and restarted after {clients_.done} surveys")
        clients_.join(1200)
        elapsed = time.perf_counter() - started
        for target in targets:
            wait_for(
                lambda target=target: _ready(requests, target),  # type: ignore[misc]
                30,
                "the hosts ready after it all",
            )

        walks = list(clients_.results)
        engine = make_engine(url)
        with Session(engine) as session:
            waves.close_wave(session, None, wave_id)
            waves.finish_close(session, wave_id, mix_keys=TEST_KEYS.mix)
            stored = Counter(decode(a) for a in session.scalars(select(Response.answers)))
            left = session.scalar(select(func.count()).select_from(PendingResponse)) or 0
            flipped = session.scalar(select(func.count()).where(Invitation.completed)) or 0
            counted = session.scalar(select(func.sum(DailyCount.submissions))) or 0
        engine.dispose()
        for process in processes:  # all at once: each then only has to be waited for
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)

    statuses: Counter[int] = Counter()
    for _, seen in walks:
        statuses.update(seen.statuses)
    done = {index for index, seen in walks if seen.outcome in {"thanks", "already"}}
    return LoadResult(
        surveys=surveys,
        clients=clients,
        elapsed=elapsed,
        outcomes=Counter(seen.outcome for _, seen in walks),
        statuses=statuses,
        submit_latencies=[s.submit_seconds for _, s in walks if s.submit_seconds is not None],
        submits_retried=sum(1 for _, s in walks if len(s.submit_statuses) > 1),
        stored=sum(stored.values()),
        duplicated=sum(1 for n in stored.values() if n > 1),
        lost=len(done - set(stored)) + (surveys - len(walks)),
        left_in_pool=left,
        completed_flags=flipped,
        counted=int(counted),
        events=events,
        hosts=hosts,
    )


def _ready(requests: Any, target: tuple[str, int]) -> bool:
    host, port = target
    try:
        return bool(requests.get(f"http://{host}:{port}/readyz", timeout=5).status_code == 200)
    except requests.RequestException:
        return False
