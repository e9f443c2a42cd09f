"""SASRec's ``torch_device``: where it fits and scores (not ``use_device``, the member's
playback device). The GPU path itself runs only where torch sees one (the last test, marked `gpu`:
deselected elsewhere, see tests/conftest.py)."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from recommender.base import load_model
from recommender.sasrec import SASRecConfig, SASRecRecommender, resolve_torch_device
from recommender.train import train_main
from tests.recommender.factories import DAY, T0, genre_catalog

TINY = SASRecConfig(dim=16, max_len=20, min_steps=20, patience=3, mtp_k=2, watch_weight=0.5)
NO_GPU = pytest.mark.no_gpu


def fitted(config: SASRecConfig) -> SASRecRecommender:
    data, items = genre_catalog(np.random.default_rng(3), n_users=40)
    return SASRecRecommender(config).fit(data, items=items)


def scores(model: SASRecRecommender) -> np.ndarray:
    return model.score([*model.user_ids[:10], "nobody"], at=T0 + 30 * DAY)


@pytest.mark.parametrize("name", ["cpu", pytest.param("auto", marks=NO_GPU)])
def test_an_explicit_cpu_fits_bit_identically_to_the_default(name):
    """Early stopping, the refit, sampled negatives and both extra heads: every draw and
    every weight the same as with the default."""
    config = replace(TINY, full_softmax_max_items=5, num_negatives=8)
    default, explicit = fitted(config), fitted(replace(config, torch_device=name))
    np.testing.assert_array_equal(scores(default), scores(explicit))
    for key, value in default.net.state_dict().items():
        assert torch.equal(value, explicit.net.state_dict()[key]), key
    assert default.config.extra == explicit.config.extra


@NO_GPU
@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:3"])
def test_a_gpu_on_a_machine_without_one_is_an_error_naming_it(name):
    with pytest.raises(ValueError, match=f"torch_device='{name}', but torch sees no CUDA GPU"):
        SASRecConfig(torch_device=name)


@pytest.mark.parametrize("name", ["gpu", "CUDA", "cuda:", "cuda:x", "cpu:0", "", "mps"])
def test_an_unknown_device_is_an_error_naming_it(name):
    with pytest.raises(ValueError, match=f"torch_device must be .* got '{name}'"):
        SASRecConfig(torch_device=name)


def test_auto_is_cuda_when_torch_sees_a_gpu_and_cpu_otherwise(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_torch_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_torch_device("auto") == torch.device("cuda")


@NO_GPU
def test_auto_on_this_machine_is_the_cpu():
    assert resolve_torch_device("auto") == torch.device("cpu")
    assert SASRecConfig(torch_device="auto").torch_device == "auto"  # resolved at fit time


def test_a_checkpoint_trained_for_a_gpu_loads_and_serves_on_the_cpu(tmp_path):
    """A checkpoint whose config names cuda (as one trained on a GPU does) loads here, its
    config saying cpu and its tensors on the CPU, and scores as the model that saved it."""
    model = fitted(TINY)
    model.save(tmp_path)
    checkpoint = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert all(t.device.type == "cpu" for t in checkpoint["state_dict"].values())
    checkpoint["config"]["torch_device"] = "cuda:1"
    torch.save(checkpoint, tmp_path / "checkpoint.pt")
    loaded = load_model(tmp_path)
    assert loaded.config.torch_device == "cpu"
    assert all(p.device.type == "cpu" for p in loaded.net.parameters())
    np.testing.assert_array_equal(scores(loaded), scores(model))


@NO_GPU
def test_train_cli_device_option(tmp_path, capsys):
    data, _ = genre_catalog(np.random.default_rng(3), n_users=40)
    csv = tmp_path / "plays.csv"
    rows = zip(data.user_ids, data.item_ids, data.timestamps, strict=True)
    csv.write_text("user_id,item_id,timestamp\n" + "".join(f"{u},{i},{t}\n" for u, i, t in rows))
    common = ["--interactions", str(csv), "--out", str(tmp_path / "m")]
    assert train_main([*common, "--model", "sasrec", "--device", "cuda"]) == 2
    assert "torch_device='cuda', but torch sees no CUDA GPU" in capsys.readouterr().err
    assert train_main([*common, "--model", "sasrec", "--device", "tpu"]) == 2
    assert "got 'tpu'" in capsys.readouterr().err
    assert train_main([*common, "--model", "mf", "--device", "cpu"]) == 2
    assert "--device does not apply to model 'mf'" in capsys.readouterr().err
    assert train_main([*common, "--model", "sasrec", "--set", "torch_device=cuda:0"]) == 2
    assert "torch_device='cuda:0'" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()  # nothing written


@pytest.mark.gpu
def test_on_a_gpu_the_fit_runs_there_and_the_checkpoint_is_cpu(tmp_path):
    """Runs only where torch sees a GPU (none in the project's CI): the fit learns as on the
    CPU (GPU kernels round differently, so equal to a tolerance, not bit for bit), the model
    scores on the GPU, and its checkpoint is CPU tensors that serve the same scores."""
    on_gpu, on_cpu = fitted(replace(TINY, torch_device="cuda")), fitted(TINY)
    assert on_gpu.net.item_embedding.device.type == "cuda"
    assert abs(on_gpu.config.extra["final_loss"] - on_cpu.config.extra["final_loss"]) < 0.5
    on_gpu.save(tmp_path)
    loaded = load_model(tmp_path)
    assert loaded.net.item_embedding.device.type == "cpu"
    np.testing.assert_allclose(scores(loaded), scores(on_gpu), atol=1e-4)
