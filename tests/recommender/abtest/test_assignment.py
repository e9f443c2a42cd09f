"""Assignment is stable, balanced within chance, independent across salts, and canary growth
never moves a member between arms. The balance and independence checks are shown to fail on
a deliberately broken hash, so a passing run means something."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recommender.abtest.assignment import (
    AbtestConfigError,
    arm_for,
    bucket,
    canary_arm,
    validate_shares,
)
from recommender.abtest.stats import chi2_sf, srm_check

ROOT = Path(__file__).resolve().parents[3]
IDS = range(100_000)


def uniformity_p(buckets: np.ndarray, bins: int = 20) -> float:
    """Chi-square p-value of "the buckets are uniform on [0, 1)" over equal-width bins."""
    counts = np.bincount(np.minimum((buckets * bins).astype(int), bins - 1), minlength=bins)
    return srm_check([int(c) for c in counts], [1.0] * bins).p_value


def independence_p(a: np.ndarray, b: np.ndarray) -> float:
    """Chi-square p-value of the 2 x 2 contingency table of two boolean assignments."""
    table = np.array([[np.sum(a & b), np.sum(a & ~b)], [np.sum(~a & b), np.sum(~a & ~b)]])
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    return chi2_sf(float(((table - expected) ** 2 / expected).sum()), 1)


def biased_bucket(member_id: int, salt: str) -> float:
    """A classic bug: one digest byte reduced modulo 100 (0..55 come up 3 times, 56..99 twice)."""
    digest = hashlib.blake2b(f"{salt}:{member_id}".encode(), digest_size=8).digest()
    return (digest[0] % 100) / 100


def saltless_bucket(member_id: int, salt: str) -> float:
    """Another bug: the salt left out of the key, so every experiment splits members alike."""
    return bucket(member_id, "ignored")


def test_bucket_is_pinned_so_every_process_and_machine_agrees():
    assert bucket(42, "exp-1") == 0.7671635750908922
    assert bucket("member-7", "homepage-ranker-2026-12") == 0.5140157920129544
    assert bucket(42, "exp-1") == bucket("42", "exp-1")


def test_bucket_is_the_same_in_a_fresh_process_with_another_hash_seed():
    ids = [0, 1, 17, 123_456_789, "abc"]
    # The module file alone (stdlib only), so the fresh process does not import torch through
    # recommender/__init__.py.
    code = (
        "import importlib.util as u;"
        "spec = u.spec_from_file_location('assignment', 'recommender/abtest/assignment.py');"
        "module = u.module_from_spec(spec); spec.loader.exec_module(module);"
        f"print([repr(module.bucket(m, 'salt-x')) for m in {ids!r}])"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == str([repr(bucket(m, "salt-x")) for m in ids])


def test_same_member_always_gets_the_same_arm():
    arms = [("control", 0.5), ("treatment", 0.5)]
    first = [arm_for(m, "exp", arms) for m in range(1000)]
    assert [arm_for(m, "exp", arms) for m in range(1000)] == first
    assert set(first) == {"control", "treatment"}


def test_buckets_are_uniform_and_the_check_catches_a_biased_hash():
    real = np.array([bucket(m, "balance") for m in IDS])
    assert 0 <= real.min() and real.max() < 1
    assert uniformity_p(real) > 0.001
    biased = np.array([biased_bucket(m, "balance") for m in IDS])
    assert uniformity_p(biased) < 1e-6


def test_arm_counts_match_the_shares_within_chance():
    arms = [("a", 0.2), ("b", 0.3), ("c", 0.4)]  # 10% of members in no arm
    names = [arm_for(m, "shares", arms) for m in IDS]
    counts = [names.count(name) for name in ("a", "b", "c", None)]
    assert srm_check(counts, [0.2, 0.3, 0.4, 0.1]).mismatch is False
    biased = [biased_bucket(m, "shares") for m in IDS]
    biased_counts = np.histogram(biased, bins=[0, 0.2, 0.5, 0.9, 1])[0]
    assert srm_check([int(c) for c in biased_counts], [0.2, 0.3, 0.4, 0.1]).mismatch is True


def test_assignment_is_independent_across_salts_and_the_check_catches_a_shared_key():
    first = np.array([bucket(m, "exp-a") < 0.5 for m in IDS])
    second = np.array([bucket(m, "exp-b") < 0.5 for m in IDS])
    assert independence_p(first, second) > 0.001
    shared = np.array([saltless_bucket(m, "exp-b") < 0.5 for m in IDS])
    again = np.array([saltless_bucket(m, "exp-a") < 0.5 for m in IDS])
    assert independence_p(again, shared) < 1e-6


def test_arm_intervals_are_in_the_listed_order_and_past_the_sum_is_production():
    arms = [("a", 0.25), ("b", 0.25)]
    for m in range(2000):
        b = bucket(m, "order")
        expected = "a" if b < 0.25 else "b" if b < 0.5 else None
        assert arm_for(m, "order", arms) == expected
    assert arm_for(3, "order", {"a": 0.25, "b": 0.25}) == arm_for(3, "order", arms)


def test_canary_growth_never_moves_a_member_between_arms():
    members = range(20_000)
    seen: dict[int, str] = {}
    for share in (0.01, 0.05, 0.25, 0.5):
        arms = {m: canary_arm(m, "canary", share) for m in members}
        for m, arm in seen.items():
            assert arms[m] == arm, (m, share)
        seen.update({m: arm for m, arm in arms.items() if arm is not None})
        counts = [sum(a == name for a in arms.values()) for name in ("control", "candidate")]
        assert srm_check(counts, [0.5, 0.5]).mismatch is False
        assert abs(sum(counts) / len(members) - 2 * share) < 0.02
    assert set(seen.values()) == {"control", "candidate"}
    assert len(seen) == len(members)  # at 50% every member is in one of the two arms


@pytest.mark.parametrize(
    ("shares", "message"),
    [
        ([], "empty"),
        ([("a", -0.1), ("b", 0.5)], "-0.1"),
        ([("a", 0.6), ("b", 0.5)], "sum to 1.1"),
        ([("a", 0.5), ("a", 0.5)], "duplicate arm name 'a'"),
        ([("", 0.5)], "''"),
        ([("a", float("nan"))], "nan"),
        ([("a", "0.5")], "'0.5'"),
        ([("a",)], "pairs"),
    ],
)
def test_validate_shares_names_the_bad_value(shares, message):
    with pytest.raises(AbtestConfigError, match=None) as error:
        validate_shares(shares)
    assert message in str(error.value)
    assert isinstance(error.value, ValueError)


def test_shares_summing_to_one_in_decimals_are_accepted():
    validate_shares([("a", 0.1), ("b", 0.2), ("c", 0.7)])
    validate_shares([("solo", 0.3)])


@pytest.mark.parametrize("share", [0, -0.1, 0.51, float("nan"), True, "0.1"])
def test_canary_share_out_of_range_is_rejected(share):
    with pytest.raises(AbtestConfigError, match="canary share"):
        canary_arm(1, "s", share)


@pytest.mark.parametrize(("member", "salt"), [(1.5, "s"), (None, "s"), (True, "s"), (1, "")])
def test_bad_member_id_or_salt_is_rejected(member, salt):
    with pytest.raises(AbtestConfigError):
        bucket(member, salt)
