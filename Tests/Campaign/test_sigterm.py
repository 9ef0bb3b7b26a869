"""8. SIGTERM under load: 8 clients write, the server gets SIGTERM and must exit within 10 s;
after a restart on the same database every acknowledged write is there and every feed equals
a full regeneration."""

from __future__ import annotations

import time

import pytest

from conftest import MODE, budget
from harness import WriteLoad, fail_if, feed_path, feeds_converge, verify_durability

USERS = ("gil", "hana", "ivo")
EXIT_BOUND = 10.0


@pytest.mark.timeout(budget(150, 600))
def test_sigterm_under_load_exits_in_time_and_loses_nothing(pg_factory, server_factory, figures):
    pg = pg_factory(fsync=True, name="sigterm")
    server = server_factory(pg.url, name="sigterm")
    server.start()
    users = {name: server.create_user(name) for name in USERS}
    feeds = {name: feed_path(server.base, key) for name, key in users.items()}

    problems: list[str] = []
    models = []
    exits = []
    requests_acked = 0
    for round_no in range(1, MODE.rounds + 1):
        load = WriteLoad(server.base, users, threads=8, seed=100 + round_no, timeout=EXIT_BOUND,
                         stop_on_failure=True, feed_paths=feeds)
        load.start()
        # Window: the load runs for the mode's load_seconds, so SIGTERM lands mid-load.
        time.sleep(MODE.load_seconds)
        seconds, code = server.terminate(bound=EXIT_BOUND)
        exits.append(f"{seconds:.2f} s (exit code {code})" if code is not None
                     else f"not exited after {seconds:.1f} s: killed")
        hung = load.stop(join_timeout=EXIT_BOUND + 5)
        if code is None:
            problems.append(f"round {round_no}: SIGTERM with 8 clients writing: the server had not exited "
                            f"after {EXIT_BOUND:.0f} s (killed with SIGKILL)")
        elif code != 0:
            problems.append(f"round {round_no}: SIGTERM: exit code {code} (expected 0 for a clean shutdown)")
        if hung:
            problems.append(f"round {round_no}: client threads still blocked after the server exited: {hung}")
        answers = dict(sorted(load.status_counts().items()))
        requests_acked += load.acked_requests()
        models.extend(load.models)
        server.start()
        report = verify_durability(server.base, users, models)
        figures[f"round {round_no}"] = (f"SIGTERM to exit {exits[-1]}; {report.summary()}; "
                                        f"answers {answers}")
        if load.anomalies:
            problems.append(f"round {round_no}: unexpected answers under load: {load.anomalies[:5]}")
        problems += [f"round {round_no}: {p}" for p in report.problems()]
        converge, feed_figures = feeds_converge(server.base, users, bound=MODE.job_bound, feed_bound=10)
        figures.update({f"round {round_no} {k}": v for k, v in feed_figures.items()})
        problems += [f"round {round_no}: {p}" for p in converge]
    figures["write requests acknowledged (2xx)"] = requests_acked
    figures["SIGTERM to exit"] = exits
    assert requests_acked > 0, "no write was acknowledged at all: the load did not run"
    fail_if(problems, server)
