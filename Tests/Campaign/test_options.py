"""Configuration the server cannot honour is refused at start, before anything is started or
listened on: an exit status other than 0 and a message naming the setting. Here the feed
cache's gzip level (`--feed-gzip-level`, `ALMANAC_FEED_GZIP_LEVEL`, 1...9), whose values outside
the range and non-numbers in the environment used to be possible to mistype silently, and the
statement mode (`--prepared-statements`, `ALMANAC_PREPARED_STATEMENTS`, on or off).
"""

from __future__ import annotations

import os
import subprocess

import pytest

from conftest import budget
from harness import almanac_bin, fail_if, free_port

CASES = [
    # (label, extra arguments, environment, what the message must contain)
    ("level 0", ["--feed-gzip-level", "0"], {}, "--feed-gzip-level (ALMANAC_FEED_GZIP_LEVEL) must be 1...9, got 0"),
    ("level 10", ["--feed-gzip-level", "10"], {}, "must be 1...9, got 10"),
    ("environment 12", [], {"ALMANAC_FEED_GZIP_LEVEL": "12"}, "must be 1...9, got 12"),
    ("environment not a number", [], {"ALMANAC_FEED_GZIP_LEVEL": "fast"},
     'ALMANAC_FEED_GZIP_LEVEL must be a whole number 1...9, got "fast"'),
    ("statements yes", ["--prepared-statements", "yes"], {},
     '--prepared-statements (ALMANAC_PREPARED_STATEMENTS) must be on or off, got "yes"'),
    ("environment statements false", [], {"ALMANAC_PREPARED_STATEMENTS": "false"}, 'must be on or off, got "false"'),
]
SETTINGS = ("ALMANAC_FEED_GZIP_LEVEL", "ALMANAC_PREPARED_STATEMENTS")


@pytest.mark.timeout(budget(60, 60))
@pytest.mark.parametrize("label,arguments,environment,message", CASES, ids=[c[0] for c in CASES])
def test_a_bad_setting_is_refused_at_start(label, arguments, environment, message, figures):
    port = free_port()
    # A database URL nobody serves: a refused option must stop the process before it connects.
    command = [str(almanac_bin()), "serve", "--hostname", "127.0.0.1", "--port", str(port),
               "--database-url", f"postgres://nobody@127.0.0.1:{free_port()}/none?sslmode=disable", *arguments]
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS} | environment
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
    figures[label] = result.returncode
    problems = []
    if result.returncode == 0:
        problems.append(f"{label}: almanac serve exited 0; stderr:\n{result.stderr}")
    if message not in result.stderr:
        problems.append(f"{label}: expected {message!r} in stderr, got:\n{result.stderr}")
    fail_if(problems)
