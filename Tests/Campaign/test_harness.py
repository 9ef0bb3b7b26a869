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
