"""Benchmark: the fault drills in their long form, printing what they measured.

1. Load with restarts: two gunicorn hosts (shipped config, 2 workers each, two loopback ports)
   and two mail workers on one PostgreSQL cluster and one redis-server of their own; 64 clients
   walk 10,000 surveys; PostgreSQL is restarted (fast) after a third, Redis SIGKILLed and
   restarted after two thirds. Prints submissions/s, submit p50/p99 and the errors clients saw,
   then checks: every survey stored exactly once, 0 lost, 0 duplicated, 0 left in the pool.
2. Launch with Redis killed: 10,000 invitations, two workers, Redis SIGKILLed and restarted
   during delivery and one worker SIGKILLed: every deliverable invitation received exactly once
   by aiosmtpd (those in doubt when the worker died are never resent).
3. Launch with a PostgreSQL restart: 10,000 invitations, one worker, the cluster restarted (fast)
   a quarter in, in the middle of a batch: the same worker finishes, every invitation received
   exactly once, none left in doubt.

    .venv/bin/python benchmarks/fault_load.py [--surveys 10000] [--invitations 10000]
                                              [--clients 64] [--only load,launch,pg-restart]

Needs Debian's PostgreSQL server binaries and redis-server (as root, the cluster runs as the
``postgres`` user). The machine's other load changes the figures: the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.ops import load  # noqa: E402
from tests.ops.servers import PgCluster, RedisServer, missing_servers  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--surveys", type=int, default=10_000)
    parser.add_argument("--invitations", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--only", default="load,launch,pg-restart")
    args = parser.parse_args()
    missing = missing_servers()
    if missing:
        print(f"fault drills skipped: {missing}")
        return 0
    print(
        f"fault drills on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before "
        "start; clients, servers and workers share the machine"
    )
    ok = True
    workdir = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    try:
        if "load" in args.only.split(","):
            print("-- load with a PostgreSQL restart and a Redis kill")
            result = load.run(args.surveys, args.clients, workdir=workdir / "load")
            for line in result.lines():
                print(f"   {line}")
            ok &= result.ok
        only = set(args.only.split(","))
        if "launch" in only:
            from tests.ops.test_workers_postgres_redis import run_launch_with_redis_killed

            print(f"-- launch of {args.invitations} invitations, Redis and a worker SIGKILLed")
            cluster, redis = PgCluster(), RedisServer()
            started = time.perf_counter()
            try:
                (workdir / "launch").mkdir()
                seen = run_launch_with_redis_killed(
                    cluster, redis, workdir / "launch", args.invitations, 0.0
                )
            except AssertionError as error:
                print(f"   FAILED: {error}")
                ok = False
            else:
                elapsed = time.perf_counter() - started
                print(
                    f"   received {seen['received']} messages in {elapsed:.0f} s (seeding "
                    f"included), each at most once; {seen['in_doubt']} in doubt after the "
                    f"worker kill (not resent); Redis was killed after {seen['at_kill']} -> OK"
                )
            finally:
                redis.close()
                cluster.close()
        if "pg-restart" in only:
            ok &= _launch_with_postgres_restart(args.invitations, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


def _launch_with_postgres_restart(invitations: int, workdir: Path) -> bool:
    from tests.ops.test_workers_postgres_redis import run_launch_with_postgres_restart

    print(f"-- launch of {invitations} invitations, PostgreSQL restarted (fast) mid-batch")
    print(f"   load average {os.getloadavg()[0]:.1f} at the start")
    cluster, redis = PgCluster(), RedisServer()
    started = time.perf_counter()
    try:
        (workdir / "pg-restart").mkdir()
        seen = run_launch_with_postgres_restart(
            cluster, redis, workdir / "pg-restart", invitations, 0.0
        )
    except AssertionError as error:
        print(f"   FAILED: {error}")
        return False
    finally:
        redis.close()
        cluster.close()
    elapsed = time.perf_counter() - started
    print(
        f"   received {seen['received']} messages in {elapsed:.0f} s (seeding included), each "
        f"once; the restart came after {seen['at_restart']} and took {seen['restart_seconds']} s; "
        f"{seen['in_doubt']} in doubt; the same worker finished -> OK"
    )
    return True


if __name__ == "__main__":
    raise SystemExit(main())
