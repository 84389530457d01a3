"""The PostgreSQL-backed rate limit holds across processes: a worker process and this one, each with its own
connection and limiter object for the same account, together stay at the account's rate."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from koppel.connectors.http.postgres_rate_limit import PostgresRateLimiter

pytestmark = pytest.mark.postgres

WORKER = """
import sys, time
from koppel.connectors.http.postgres_rate_limit import PostgresRateLimiter
limiter = PostgresRateLimiter(sys.argv[1], account="shop-1", rate_per_second=20)
limiter.take_turn()  # connected, table made: one turn taken before the start
print("ready", flush=True)
sys.stdin.readline()
for _ in range(15):
    limiter.wait()
    print(time.time(), flush=True)
"""


def test_two_processes_share_one_limit(postgres_database: str) -> None:
    worker = subprocess.Popen([sys.executable, "-c", WORKER, postgres_database], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout is not None and worker.stdin is not None
        assert worker.stdout.readline().strip() == "ready"
        here = PostgresRateLimiter(postgres_database, account="shop-1", rate_per_second=20)
        here.take_turn()
        mine: list[float] = []

        def calls() -> None:
            for _ in range(15):
                here.wait()
                mine.append(time.time())

        worker.stdin.write("go\n")
        worker.stdin.flush()
        thread = threading.Thread(target=calls)
        thread.start()
        theirs = [float(line) for line in worker.stdout.read().split()]
        thread.join()
        here.close()
    finally:
        worker.kill()
        worker.wait()
    assert len(theirs) == len(mine) == 15
    assert min(theirs) < max(mine) and min(mine) < max(theirs), "the two processes did not run at the same time"
    moments = sorted(theirs + mine)
    # 30 calls at 20/s, no burst: at least 29 intervals of 50 ms end to end (alone, each would take 0.7 s).
    assert moments[-1] - moments[0] >= 29 / 20 * 0.9


def test_a_burst_goes_at_once_then_calls_are_spaced(postgres_database: str) -> None:
    limiter = PostgresRateLimiter(postgres_database, account="books-1", rate_per_second=1, burst=3)
    waits = [limiter.take_turn() for _ in range(4)]
    limiter.close()
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert 0.5 < waits[3] <= 1.0


def test_accounts_do_not_share_a_limit(postgres_database: str) -> None:
    one = PostgresRateLimiter(postgres_database, account="shop-1", rate_per_second=1)
    other = PostgresRateLimiter(postgres_database, account="shop-2", rate_per_second=1)
    assert (one.take_turn(), other.take_turn()) == (0.0, 0.0)
    assert one.take_turn() > 0.5
    one.close()
    other.close()
