"""2. Crash: kill -9 of `almanac serve` under a write load of 8 clients, then restart it on
the same database (fsync on). Every acknowledged write must be there, and every user's feed
must equal a full regeneration (the full job reports matches_incremental == true, and the feed
served at /feeds/<token>.ics equals its result).

After the kill, each round also crashes PostgreSQL itself (`pg_ctl stop -m immediate`, so the
restart replays the WAL): an acknowledged write is a committed, fsynced transaction.

The same for `almanac relay` / `almanac project --source kafka`: test_crash_bus.py.
"""

from __future__ import annotations

import time

import pytest

from conftest import MODE, budget
from harness import WriteLoad, fail_if, feed_path, feeds_converge, verify_durability

USERS = ("ana", "bo", "chen")


@pytest.mark.timeout(budget(150, 600))
def test_crash_kill9_loses_no_acknowledged_write(pg_factory, server_factory, figures):
    pg = pg_factory(fsync=True, name="crash")
    server = server_factory(pg.url, name="crash")
    server.start()
    users = {name: server.create_user(name) for name in USERS}
    feeds = {name: feed_path(server.base, key) for name, key in users.items()}

    all_models = []
    problems: list[str] = []
    totals = {"acked": 0, "found": 0, "requests": 0, "restart_s": []}
    for round_no in range(1, MODE.rounds + 1):
        load = WriteLoad(server.base, users, threads=8, seed=round_no, timeout=10.0,
                         stop_on_failure=True, feed_paths=feeds)
        load.start()
        # Window: the load runs for the mode's load_seconds, so the kill lands mid-load.
        time.sleep(MODE.load_seconds)
        server.kill()                      # kill -9, mid-load
        killed_at = time.monotonic()
        hung = load.stop(join_timeout=15)
        assert not hung, f"round {round_no}: load threads still blocked 15 s after kill -9: {hung}"
        pg.stop("immediate")               # and a PostgreSQL crash: WAL replay at restart
        pg.start()
        server.start()
        totals["restart_s"].append(round(time.monotonic() - killed_at, 2))
        all_models.extend(load.models)
        report = verify_durability(server.base, users, all_models)
        totals["requests"] += load.acked_requests()
        totals["acked"] = report.writes_acknowledged
        totals["found"] = report.writes_found
        figures[f"round {round_no}"] = (
            f"{report.summary()}; write requests acknowledged this round {load.acked_requests()}; "
            f"answers {dict(sorted(load.status_counts().items()))}")
        if load.anomalies:
            problems.append(f"round {round_no}: unexpected answers under load: {load.anomalies[:5]}")
        problems += [f"round {round_no}: {p}" for p in report.problems()]
        converge, feed_figures = feeds_converge(server.base, users, bound=MODE.job_bound, feed_bound=10)
        figures.update({f"round {round_no} {k}": v for k, v in feed_figures.items()})
        problems += [f"round {round_no}: {p}" for p in converge]

    figures["write requests acknowledged (2xx)"] = totals["requests"]
    figures["acknowledged write effects (per todo)"] = totals["acked"]
    figures["acknowledged write effects found after restart"] = totals["found"]
    figures["kill -9 to serving again (s)"] = totals["restart_s"]
    assert totals["acked"] > 0, "no write was acknowledged at all: the load did not run"
    fail_if(problems, server)
