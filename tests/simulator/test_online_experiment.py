"""The online experiment end to end at the small preset: assignment by hash, the readout
against a hand computation from the run's own event log, a planted loser caught by the
readout and rolled back by the canary, and the command line's files."""

from dataclasses import replace
from functools import cache

import numpy as np
import pytest

from recommender.abtest import arm_for, canary_arm, compare, mean_ci
from simulator.experiments.__main__ import main
from simulator.experiments.online import (
    NOT_IN,
    PRESETS,
    OnlineResult,
    OnlineSettings,
    online_experiment,
)

SMALL = PRESETS["small"]
CODES = {"control": 0, "candidate": 1, None: NOT_IN}


@cache
def small_run(candidate: str | None = None) -> OnlineResult:
    """Both modes at the small preset (seeded, shared by the tests)."""
    online = SMALL.online if candidate is None else replace(SMALL.online, candidate=candidate)
    return online_experiment(SMALL.settings, online)


def test_the_command_writes_its_csv_and_figure(tmp_path, capsys):
    args = ["online", "--preset", "small", "--out", str(tmp_path), "--no-progress"]
    assert main(args) == 0
    lines = (tmp_path / "online-experiment.csv").read_text().splitlines()
    header = lines[0].split(",")
    for column in ("mode", "day", "share", "control_minutes", "candidate_minutes_low",
                   "minutes_cuped_diff", "minutes_seq_p", "srm_p", "action",
                   "control_offline_ndcg", "candidate_offline_recall"):  # fmt: skip
        assert column in header
    assert len(lines) == 1 + 2 * SMALL.online.days  # one row per mode and day
    assert (tmp_path / "online-experiment.png").read_bytes()[:4] == b"\x89PNG"
    out = capsys.readouterr().out
    assert "offline ease:" in out and "wrote" in out


def test_a_bad_arm_is_an_error_naming_it(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["online", "--preset", "small", "--control", "ease", "--candidate", "ease"])
    assert exit_.value.code == 2
    assert "must differ from the control, 'ease'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown candidate arm 'nope'"):
        online_experiment(SMALL.settings, OnlineSettings(candidate="nope"))


def test_members_are_in_the_arm_the_hash_assigns_and_see_its_model():
    """Every day of both modes, each member's arm is ``assignment.arm_for`` (A/B 50/50) or
    ``assignment.canary_arm`` at that day's share, and the candidate's model serves exactly
    the candidate arm (everyone else sees production)."""
    result = small_run()
    salt, n = SMALL.online.salt, SMALL.settings.members
    ab = result.modes["ab"]
    expected = [CODES[arm_for(m, salt, [("control", 0.5), ("candidate", 0.5)])] for m in range(n)]
    assert (ab.arms == np.array(expected)[None, :]).all()
    assert (ab.served == (ab.arms == 1)).all()
    canary = result.modes["canary"]
    shares = [r["share"] for r in canary.rows if r["status"] == "running"]
    assert len(set(shares)) > 1  # the share grew at least once
    for day, share in enumerate(shares):
        expected = [CODES[canary_arm(m, salt, share)] for m in range(n)]
        assert (canary.arms[day] == np.array(expected)).all(), f"day {day + 1}, share {share}"
        assert (canary.served[day] == (canary.arms[day] == 1)).all()
        row = canary.rows[day]
        assert row["control_members"] == (canary.arms[day] == 0).sum()
        assert row["candidate_members"] == (canary.arms[day] == 1).sum()


def hand_readout(result: OnlineResult, mode: str, day: int) -> dict[str, float]:
    """The day's per-arm metrics recomputed from the mode's event log (visits: member, day,
    seconds watched, title played) and its arm and entry-day records, nothing else."""
    run = result.modes[mode]
    log, n = run.log, SMALL.settings.members
    member, visit_day = log.column("member").astype(int), log.column("day").astype(int)
    seconds, played = log.column("watched_seconds"), log.column("played_title") >= 0
    retention_days = SMALL.online.retention_days
    out: dict[str, float] = {}
    for arm, code in (("control", 0), ("candidate", 1)):
        minutes, ppv, retained = [], [], []
        for m in np.flatnonzero(run.arms[day] == code):
            entry = run.entered[day][m]
            mine = (member == m) & (visit_day >= entry) & (visit_day <= day)
            minutes.append(seconds[mine].sum() / 60 / (day + 1 - entry))
            if mine.any():
                ppv.append(played[mine].sum() / mine.sum())
            if day + 1 - entry >= retention_days:
                retained.append(float((mine & (visit_day > day - retention_days)).any()))
        out[f"{arm}_minutes"] = float(np.mean(minutes))
        out[f"{arm}_plays_per_visit"] = float(np.mean(ppv))
        out[f"{arm}_retention"] = float(np.mean(retained)) if retained else float("nan")
        out[f"{arm}_minutes_values"] = minutes  # type: ignore[assignment]
        assert len(minutes) < n
    return out


@pytest.mark.parametrize("mode", ["ab", "canary"])
def test_the_readout_equals_a_hand_computation_from_the_event_log(mode):
    """On the last running day (in the canary, after the share grew, so members entered on
    different days) the row's per-arm minutes per member per day, plays per visit and
    retention, the mean's interval and the difference equal what the visits give by hand."""
    result = small_run()
    rows = [r for r in result.modes[mode].rows if r["status"] == "running"]
    day = len(rows) - 1
    row, hand = rows[day], hand_readout(result, mode, day)
    for arm in ("control", "candidate"):
        for metric in ("minutes", "plays_per_visit", "retention"):
            assert row[f"{arm}_{metric}"] == pytest.approx(hand[f"{arm}_{metric}"], nan_ok=True)
        est = mean_ci(hand[f"{arm}_minutes_values"])
        assert (row[f"{arm}_minutes_low"], row[f"{arm}_minutes_high"]) == pytest.approx(
            (est.low, est.high)
        )
    diff = compare(hand["control_minutes_values"], hand["candidate_minutes_values"])
    assert row["minutes_diff"] == pytest.approx(diff.diff)
    assert row["minutes_p"] == pytest.approx(diff.p_value)
    if mode == "canary":
        assert len(set(result.modes[mode].entered[day])) > 1


def test_pre_experiment_minutes_come_from_the_history_before_the_experiment():
    """CUPED's covariate is each member's minutes per day over the history's last pre_days,
    by hand from the history's visits."""
    result = small_run()
    history = result.history
    days = history.column("day").astype(int)
    last = days >= SMALL.settings.days - SMALL.online.pre_days
    by_hand = (
        np.bincount(
            history.column("member").astype(int)[last],
            weights=history.column("watched_seconds")[last] / 60,
            minlength=SMALL.settings.members,
        )
        / SMALL.online.pre_days
    )
    assert result.modes["ab"].pre_minutes == pytest.approx(by_hand)
    assert by_hand.std() > 0


def test_a_planted_loser_is_detected_and_the_canary_rolls_it_back():
    """Random pages against EASE: the A/B readout's always-valid interval lies below zero
    by the end (candidate worse, p < 0.05), and the canary rolls the candidate back by
    itself, after which production serves every member and no readout runs."""
    result = small_run("random")
    ab = [r for r in result.modes["ab"].rows]
    last = ab[-1]
    assert last["candidate_minutes"] < last["control_minutes"]
    assert last["minutes_seq_p"] < 0.05 and last["minutes_seq_high"] < 0
    assert last["minutes_cuped_high"] < 0
    canary = result.modes["canary"]
    actions = [r.get("action") for r in canary.rows]
    assert "rollback" in actions, actions
    back = actions.index("rollback")
    assert "ship" not in actions[:back]
    after = canary.rows[back + 1 :]
    assert after and all(r["status"] == "rolled back" and r["share"] == 0 for r in after)
    assert not canary.served[back + 1 :].any()
    assert (canary.arms[back + 1 :] == NOT_IN).all()


def test_same_seed_same_readouts():
    a = online_experiment(SMALL.settings, replace(SMALL.online, modes=("ab",)))
    b = small_run()
    keys = ("control_minutes", "candidate_minutes", "minutes_seq_p", "minutes_cuped_diff")
    assert [[r[k] for k in keys] for r in a.modes["ab"].rows] == [
        [r[k] for k in keys] for r in b.modes["ab"].rows
    ]
