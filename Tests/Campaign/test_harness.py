"""The harness's own rules, without a server: where free_port draws its ports."""

from harness import free_port, free_port_candidates


def test_free_port_candidates_avoid_the_ephemeral_range():
    assert free_port_candidates(32768, 60999) == (20000, 32767)
    assert free_port_candidates(10000, 30000) == (30001, 65535)
    # No room either side (e.g. "1024 65535"): the old rule drew from (65536, 65535) and
    # random.randint raised ValueError; now the kernel chooses.
    assert free_port_candidates(1024, 65535) is None
    assert free_port_candidates(21000, 65535) is None


def test_free_port_gives_a_port():
    assert 1 <= free_port() <= 65535


def test_the_test_scripts_clean_up_after_a_failure():
    """scripts/test stops PostgreSQL and moto_server in an EXIT trap under `set -e`. A helper
    that ended in a bare `return` returned the status the shell had before the trap (non-zero
    after a failure), so the trap stopped half-way and both servers were left running."""
    import pathlib
    import subprocess

    common = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "lib" / "common.sh"
    script = f"""
        set -euo pipefail
        source "{common}"
        trap 'pg_bindir >/dev/null; echo trap-finished' EXIT
        false
    """
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "trap-finished" in result.stdout, result.stderr
