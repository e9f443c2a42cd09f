"""The scaling experiment: the offset power-law fit, and the command at a tiny size."""

import csv

import numpy as np
import pytest

from recommender import SASRecConfig, SASRecRecommender, time_split
from recommender.metrics import evaluate_next_play
from recommender.runtime import cuda_available, torch_threads
from simulator.experiments.__main__ import main
from simulator.experiments.scaling import (
    PRESETS,
    fit_offset_power_law,
    next_play_quality,
    resolve_device,
    simulated_log,
)


@pytest.mark.parametrize(
    ("l_inf", "a", "alpha"), [(2.0, 30.0, 0.5), (4.6, 900.0, 0.9), (0.3, 3.0, 0.25)]
)
def test_the_fit_recovers_a_known_offset_power_law(l_inf, a, alpha):
    rng = np.random.default_rng(0)
    n = np.geomspace(1e3, 1e6, 8)
    loss = l_inf + a * n**-alpha
    fit = fit_offset_power_law(n, loss * (1 + rng.normal(0, 1e-4, len(n))))
    assert fit.l_inf == pytest.approx(l_inf, rel=0.02)
    assert fit.alpha == pytest.approx(alpha, rel=0.05)
    assert fit.a == pytest.approx(a, rel=0.15)
    np.testing.assert_allclose(fit(n), loss, rtol=1e-3)


def test_a_flat_curve_is_its_own_floor_and_bad_points_are_refused():
    fit = fit_offset_power_law(np.array([10.0, 100.0, 1000.0]), np.array([1.0, 1.0, 1.0]))
    assert fit.l_inf == pytest.approx(1.0) and fit.rmse < 1e-9
    with pytest.raises(ValueError, match="3 or more"):
        fit_offset_power_law(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="positive"):
        fit_offset_power_law(np.array([0.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]))


def test_loss_and_mrr_are_measured_on_the_next_play_protocols_requests():
    log, items = simulated_log(PRESETS["tiny"], seed=0)
    train, test = time_split(log, holdout_fraction=0.2)
    with torch_threads(1):  # as the experiment fits
        model = SASRecRecommender(SASRecConfig(dim=8, max_len=20, min_steps=20, refit=False))
        model.fit(train, items=items, rng=np.random.default_rng(0))
    quality = next_play_quality(model, train, test, max_requests=100, seed=0)
    reference = evaluate_next_play(model, train, test, max_requests=100, seed=0).means()
    assert quality["mrr"] == pytest.approx(reference["next_mrr"], abs=1e-9)
    assert 0 < quality["loss"] < np.log(len(model.item_ids)) + 1.0  # near uniform at worst


def test_the_scaling_command_writes_its_tables_and_figure(tmp_path, capsys):
    assert main(["scaling", "--preset", "tiny", "--out", str(tmp_path), "--no-progress"]) == 0
    rows = list(csv.DictReader((tmp_path / "scaling.csv").open()))
    tiny = PRESETS["tiny"]
    assert len(rows) == len(tiny.sizes) * len(tiny.widths) * len(tiny.depths)
    plays = sorted({int(r["train_plays"]) for r in rows})
    assert len(plays) == len(tiny.sizes)  # nested training sets of growing size
    assert all(float(r["loss"]) > 0 and 0 <= float(r["mrr"]) <= 1 for r in rows)
    fits = list(csv.DictReader((tmp_path / "scaling-fits.csv").open()))
    assert {f["over"] for f in fits} == {"data", "params"}
    assert len([f for f in fits if f["over"] == "data"]) == len(tiny.widths)
    assert (tmp_path / "scaling.png").stat().st_size > 1000
    assert "L_inf" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("device", "message"),
    [
        pytest.param(
            "cuda",
            "argument --device: torch_device='cuda', but torch sees no CUDA GPU",
            marks=pytest.mark.no_gpu,
        ),
        ("gpu", "argument --device: torch_device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got 'gpu'"),
    ],
)  # fmt: skip
def test_the_scaling_command_refuses_a_device_it_cannot_use(tmp_path, capsys, device, message):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        main(["scaling", "--preset", "large", "--device", device, "--out", str(out)])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
    assert not out.exists()  # refused before anything was written


def test_auto_is_the_cpu_on_a_machine_without_a_gpu():
    assert resolve_device("auto") == ("cuda" if cuda_available() else "cpu")
    assert resolve_device("cpu") == "cpu"
