"""Short form of the load with restarts: 1,000 surveys, 64 clients, two hosts (network
namespaces where allowed, else loopback ports: the output says which), PostgreSQL
restarted and Redis killed in the middle: nothing lost, nothing twice, nobody saw a 500.

1,000 (the issue's short form), not the long form's 10,000 (``benchmarks/fault_load.py``),
keeps ``make test`` in its budget and still proves what the drill is for: the restart comes
after a third and the kill after two thirds, each with all 64 clients mid-walk (about 330
surveys before, between and after), so both faults meet pages being saved and submits in flight
on both hosts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import own_servers
from .load import run

pytestmark = [own_servers, pytest.mark.slow]
SURVEYS = 1000


@pytest.mark.timeout(900)
def test_two_hosts_through_a_database_restart_and_a_redis_kill_lose_nothing(
    tmp_path: Path,
) -> None:
    result = run(SURVEYS, 64, workdir=tmp_path)
    print("\n".join(result.lines()))
    assert result.lost == 0 and result.duplicated == 0 and result.left_in_pool == 0
    assert not [s for s in result.statuses if s >= 500 and s != 503], result.statuses
    assert result.ok, result.lines()
