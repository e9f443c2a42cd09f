import numpy as np
import pytest
import torch

from recommender.losses import NegativeSampler, softmax_loss, weighted_mean
from recommender.mf import MatrixFactorization, MFConfig
from recommender.sasrec import SASRecConfig


@pytest.mark.parametrize("with_bias", [True, False], ids=["mf-bias", "no-bias"])
def test_sampled_softmax_over_every_item_equals_the_full_softmax(with_bias):
    net = MatrixFactorization(n_users=3, n_items=5, dim=4)
    net.reset_parameters(std=1.0, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        net.item_bias.normal_(generator=torch.Generator().manual_seed(1))
    users, positives = torch.tensor([0, 1, 2]), torch.tensor([4, 0, 2])
    bias = net.item_bias if with_bias else None
    log_q = torch.full((5,), 1.7)  # uniform: one constant, cancels in the softmax
    every_item = torch.arange(5)  # each row's positive is also drawn: an accidental hit
    query = net.users(users)
    sampled = softmax_loss(
        query, net.item_embedding, positives, bias=bias, negatives=every_item, log_q=log_q
    )
    full = softmax_loss(query, net.item_embedding, positives, bias=bias)
    torch.testing.assert_close(sampled, full)
    logits = query @ net.item_embedding.T + (net.item_bias if with_bias else 0)
    torch.testing.assert_close(
        full, torch.nn.functional.cross_entropy(logits, positives, reduction="none")
    )


def test_popularity_sampler_draws_popular_titles_and_corrects_for_it():
    items = np.array([0, 0, 0, 0, 0, 0, 0, 1, 2])  # title 0 played 7 times, title 3 never
    sampler = NegativeSampler.for_data(items, np.ones(9), 4, kind="popularity", num_negatives=2000)
    draws = np.bincount(sampler.draw(torch.Generator().manual_seed(0)).numpy(), minlength=4)
    np.testing.assert_allclose(draws / 2000, [8 / 13, 2 / 13, 2 / 13, 1 / 13], atol=0.03)
    # log_q is the log of the expected count of each title among the 2,000 draws
    np.testing.assert_allclose(sampler.log_q.exp().numpy(), 2000 * np.array([8, 2, 2, 1]) / 13)
    uniform = NegativeSampler.for_data(items, np.ones(9), 4, kind="uniform", num_negatives=8)
    assert torch.all(uniform.log_q == uniform.log_q[0])


def test_weighted_mean_weights_each_loss_and_survives_an_empty_batch():
    losses = torch.tensor([1.0, 3.0])
    assert weighted_mean(losses, torch.tensor([3.0, 1.0])).item() == pytest.approx(1.5)
    assert weighted_mean(losses, torch.zeros(2)).item() == 0.0


@pytest.mark.parametrize("config_class", [MFConfig, SASRecConfig])
def test_both_configs_validate_the_shared_fields(config_class):
    for bad in ({"dim": 0}, {"num_negatives": 0}, {"lr": 0.0}, {"prior_half_life_days": 0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            config_class(**bad)
    with pytest.raises(ValueError, match="negative_sampler"):
        config_class(negative_sampler="in-batch")
