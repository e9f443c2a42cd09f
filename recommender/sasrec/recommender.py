"""The recommender: :class:`SASRecRecommender` fits, scores, warm-starts, aligns and saves
the network of :mod:`recommender.sasrec.net`."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any, Self

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from recommender.base import History, Recommender
from recommender.data import Interactions
from recommender.item_tower import ItemFeatures
from recommender.losses import NegativeSampler, softmax_loss, weighted_mean
from recommender.metadata import ItemMetadata
from recommender.popularity import recency_popularity
from recommender.sasrec.config import (
    AUTO_MAX_LEN,
    MIN_VALIDATION_MEMBERS,
    SASRecConfig,
    _cuda_indices,
    resolve_torch_device,
)
from recommender.sasrec.net import SASRecNet, attention_mask
from recommender.sasrec.tokens import (
    Plays,
    Tokens,
    Validation,
    Windows,
    device_codes,
    make_windows,
    merge_repeats,
    query_inputs,
    repeat_inputs,
    time_inputs,
)


class SASRecRecommender(Recommender):
    """Time-aware SASRec with a metadata item tower; scores from the member's play history."""

    kind = "sasrec"
    config_class = SASRecConfig
    uses_history = True

    def __init__(self, config: SASRecConfig | None = None) -> None:
        super().__init__(config)
        self.net: SASRecNet | None = None
        self.features: ItemFeatures | None = None
        self.trained_until = 0.0
        self._table_cache: tuple[float, torch.Tensor] | None = None
        self._play_devices = np.zeros(0, np.int64)  # (N,) device bucket, history order
        self._play_weights = np.zeros(0, np.float32)  # (N,) watch weight, history order

    # ---- fitting -------------------------------------------------------------------------

    def fit(
        self,
        interactions: Interactions,
        *,
        items: ItemMetadata | None = None,
        rng: np.random.Generator | None = None,
        warm_start: Recommender | None = None,
    ) -> Self:
        """Train on all plays, optionally from ``warm_start`` (a previous SASRec version).

        Randomness (initialisation, dropout, shuffling, negatives) comes from ``rng`` or
        ``config.seed`` only: construction and training run inside ``torch.random.fork_rng``
        seeded from it, so torch's global state is untouched and a rerun is identical.
        A ``warm_start`` of another kind or shape is ignored (training starts fresh).
        Without ``items`` the metadata tower is switched off (``config.use_metadata`` is
        saved as False): with no metadata it would only see each title's age.
        """
        cfg = replace(self.config, extra={})
        if items is None:  # without metadata the tower would see only ages: ID embeddings only
            cfg = replace(cfg, use_metadata=False)
        data = self._index(interactions, items)
        self._play_devices = device_codes(
            interactions.devices, cfg.device_buckets, len(interactions)
        )[self._history_order]
        self._play_weights = data.weights[self._history_order]
        if cfg.max_len == 0:
            cfg = replace(cfg, max_len=self._pick_max_len(warm_start, cfg.merge_repeats))
        self.config = cfg
        self.prior = recency_popularity(data, half_life_days=cfg.prior_half_life_days)
        self.trained_until = float(interactions.timestamps.max())
        self.features = self._item_features(items, data.items, interactions.timestamps)
        seed = cfg.seed if rng is None else int(rng.integers(2**63 - 1))
        previous = warm_start if self._can_warm_start(warm_start) else None
        device = resolve_torch_device(cfg.torch_device)
        with torch.random.fork_rng(devices=_cuda_indices(device)):
            torch.manual_seed(seed)
            generator = torch.Generator().manual_seed(seed)  # CPU: the same draws on any device
            net = SASRecNet(len(self.item_ids), cfg)  # initialised on the CPU, then moved
            if previous is not None:
                self._copy_from(net, previous)
            self.net = net = net.to(device)
            sampler = NegativeSampler.for_data(
                data.items,
                data.weights,
                len(self.item_ids),
                kind=cfg.negative_sampler,
                num_negatives=cfg.num_negatives,
            )
            if previous is not None:
                keep, validation = np.ones(len(self._history_items), bool), None
                epochs, min_steps = cfg.warm_start_epochs, cfg.min_steps // 3
            else:
                keep, validation = self._hold_out(np.random.default_rng(seed))
                epochs, min_steps = cfg.epochs, cfg.min_steps
            windows = self._windows(keep)
            loss = self._train(windows, sampler, epochs, min_steps, generator, validation)
            if validation is not None and cfg.refit:
                # as EASE refits with the lambda it chose: train again from the same start,
                # now on every play, for the number of epochs validation chose
                torch.manual_seed(seed)
                generator = torch.Generator().manual_seed(seed)
                net = SASRecNet(len(self.item_ids), cfg)
                self.net = net = net.to(device)
                windows = self._windows(np.ones(len(self._history_items), bool))
                loss = self._train(windows, sampler, cfg.extra["best_epoch"], 0, generator, None)
        self._set_unplayed_from_metadata(np.bincount(data.items, minlength=len(self.item_ids)))
        self.config.extra["final_loss"] = loss
        if previous is not None and cfg.align:
            self.config.extra.update(self._align_to(previous))
        net.eval()
        self._table_cache = None
        return self

    def _pick_max_len(self, warm_start: Recommender | None, merged: bool = False) -> int:
        """History length for ``max_len = 0``: the 90th percentile of the members' history
        lengths (in tokens when ``merged``) within ``AUTO_MAX_LEN`` (MovieLens-like logs get
        the 200 of the SASRec papers), or a warm start's own, to keep its weights."""
        if isinstance(warm_start, SASRecRecommender) and warm_start.net is not None:
            return warm_start.config.max_len
        offsets = self._history_offsets
        if merged:
            offsets = merge_repeats(offsets, self._history_items, self._play_weights)[0]
        lengths = np.diff(offsets)
        low, high = AUTO_MAX_LEN
        return int(np.clip(np.ceil(np.percentile(lengths, 90)), low, high))

    def _training_plays(self, start: int, stop: int) -> Plays:
        return Plays(
            self._history_items[start:stop],
            self._history_times[start:stop],
            self._play_devices[start:stop],
            self._play_weights[start:stop],
        )

    def _hold_out(self, rng: np.random.Generator) -> tuple[np.ndarray, Validation | None]:
        """(keep (N,) bool over history rows, the validation requests or None).

        The last play of up to ``validation_members`` members with 3+ plays (a seeded sample)
        is taken out of training: a request at that play's time, from the plays before it.
        With ``merge_repeats`` the whole last run of plays of one title is (a repeat of the
        title before is a seen title, which would score nothing), asked at its first play.
        Only the data ``fit`` was given are read: the caller's test split stays unseen.
        """
        cfg, offsets = self.config, self._history_offsets
        keep = np.ones(len(self._history_items), bool)
        eligible = np.flatnonzero(np.diff(offsets) >= 3)
        if cfg.validation_members == 0 or len(eligible) < MIN_VALIDATION_MEMBERS:
            return keep, None
        if len(eligible) > cfg.validation_members:
            eligible = np.sort(rng.choice(eligible, cfg.validation_members, replace=False))
        last = offsets[eligible + 1] - 1  # (M,) history row of each member's last play
        first = last.copy()  # (M,) first row held out: with merge_repeats, the whole last run
        if cfg.merge_repeats:
            items = self._history_items
            for j, m in enumerate(eligible):
                while first[j] - 1 > offsets[m] and items[first[j] - 1] == items[last[j]]:
                    first[j] -= 1
        for start, stop in zip(first, last, strict=True):
            keep[start : stop + 1] = False
        histories = [
            self._training_plays(offsets[m], row) for m, row in zip(eligible, first, strict=True)
        ]
        validation = Validation(
            histories=histories,
            targets=self._history_items[first],
            times=self._history_times[first],
            devices=self._play_devices[first],
        )
        return keep, validation

    def _windows(self, keep: np.ndarray) -> Windows:
        """Training windows from the history rows where ``keep`` is True (merged into tokens
        first with ``merge_repeats``)."""
        counts = np.add.reduceat(keep.astype(np.int64), self._history_offsets[:-1])  # (U,)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        arrays = [
            self._history_items[keep],
            self._history_times[keep],
            self._play_devices[keep],
            self._play_weights[keep],
        ]
        plays = None
        if self.config.merge_repeats:
            offsets, plays, arrays = merge_repeats(offsets, *arrays)
        items, times, devices, weights = arrays
        return make_windows(
            offsets, items, times, weights, self.config.max_len, devices=devices, counts=plays
        )

    def _item_features(
        self, items: ItemMetadata | None, played: np.ndarray, times: np.ndarray
    ) -> ItemFeatures:
        """Hashed metadata in column order; a missing added_at becomes the first play's time
        (or the end of training for a title never played: it is new)."""
        cfg = self.config
        meta = (items or ItemMetadata.from_records([])).aligned(self.item_ids)
        first = np.full(len(self.item_ids), self.trained_until)
        order = np.argsort(times)[::-1]  # newest first, so the oldest write wins
        first[played[order]] = times[order]
        added = np.where(np.isnan(meta.added_at), first, meta.added_at)
        meta = replace(meta, added_at=added.astype(np.float64))
        return ItemFeatures.from_metadata(
            meta,
            genre_buckets=cfg.genre_buckets,
            maturity_buckets=cfg.maturity_buckets,
            text_buckets=cfg.text_buckets,
        )

    def _train(
        self,
        windows: Windows,
        sampler: NegativeSampler,
        epochs: int,
        min_steps: int,
        generator: torch.Generator,
        validation: Validation | None,
    ) -> float:
        """AdamW on the weighted (sampled) softmax loss of every next play, plus the weighted
        auxiliary losses (see :meth:`_batch_losses`); returns the last step's total loss.

        Without ``validation``: ``epochs`` passes (more to reach ``min_steps``). With it: up to
        ``max_epochs`` passes, validation NDCG@10 after each, stopping ``patience`` epochs
        after the best (never before ``min_steps``) and restoring the best epoch's weights.
        ``config.extra`` records the epochs run, the best one and its validation NDCG@10.
        """
        cfg, net, features = self.config, self.net, self.features
        assert net is not None and features is not None
        n_items = len(self.item_ids)
        if len(windows.items) == 0:
            return math.nan
        sampled = n_items > cfg.full_softmax_max_items
        device = net.item_embedding.device
        log_q = sampler.log_q.to(device)
        optimizer = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        per_epoch = -(-len(windows.items) // cfg.batch_size)
        if validation is None:
            epochs = max(epochs, -(-min_steps // per_epoch))
        else:
            epochs = max(cfg.max_epochs, -(-min_steps // per_epoch))
        best, best_epoch, best_state = -math.inf, 0, None
        loss_value = math.nan
        for epoch in range(1, epochs + 1):
            net.train()
            order = torch.randperm(len(windows.items), generator=generator)
            for batch in order.split(cfg.batch_size):
                at = float(windows.end_time[batch.numpy()].max())
                id_mask = None
                if net.tower is not None and cfg.id_dropout > 0:
                    id_mask = (torch.rand(n_items, generator=generator) >= cfg.id_dropout).float()
                table = net.table(features, at, id_mask)  # (I, D)
                # drawn on the CPU from ``generator``, so every device sees the same negatives
                negatives = sampler.draw(generator).to(device) if sampled else None
                losses = self._batch_losses(windows, batch, table, negatives, log_q)
                loss = self._total_loss(losses)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                loss_value = float(loss.detach())
            if validation is None:
                continue
            score = self._validate(validation)
            if score > best:
                best, best_epoch = score, epoch
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            elif epoch - best_epoch >= cfg.patience and epoch * per_epoch >= min_steps:
                break
        if validation is not None:
            net.load_state_dict(best_state)
            self.config.extra.update(
                {"epochs_run": epoch, "best_epoch": best_epoch, "validation_ndcg@10": best}
            )
        self._table_cache = None
        return loss_value

    def _total_loss(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        """The training objective: next play + weighted multi-token, watch and genre terms."""
        cfg = self.config
        total = losses["next"]
        for name, value in losses.items():
            if name.startswith("mtp_"):
                total = total + cfg.mtp_weight * value
        if "watch" in losses:
            total = total + cfg.watch_weight * losses["watch"]
        if "genre" in losses:
            total = total + cfg.genre_weight * losses["genre"]
        return total

    def _batch_losses(
        self,
        windows: Windows,
        batch: torch.Tensor,
        table: torch.Tensor,
        negatives: torch.Tensor | None,
        log_q: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """Each objective's loss on the windows ``batch``: "next" (the next token), "mtp_m"
        (the token m ahead, m = 2..mtp_k), "watch" (binary cross-entropy of the next token's
        watch fraction, its weight over its play count clipped to [0, 1]) and "genre"
        (cross-entropy of the next title's genre buckets, a title's genres sharing its mass),
        those that are on. The windows stay on the CPU; the batch moves to the net's device."""
        net = self.net
        assert net is not None and self.features is not None
        device = table.device
        seq = windows.items[batch].to(device)  # (B, L + 1)
        valid = seq >= 0
        mask = attention_mask(valid[:, :-1])
        x = net.embed(table, windows.inputs(batch).to(device))
        h = net.query(
            net.encode(x, mask),
            windows.query_time[batch].to(device),
            windows.devices[batch, 1:].to(device),
        )  # (B, L, D)
        w = windows.weights[batch].to(device)
        target = seq[:, 1:]  # (B, L)
        out = {"next": self._next_loss(h, table, target, w[:, 1:], negatives, log_q)}
        for m, head in enumerate(net.mtp, start=2):
            if seq.shape[1] > m:
                ahead = seq[:, m:]  # (B, L + 1 - m)
                hm = head(h[:, : ahead.shape[1]])
                out[f"mtp_{m}"] = self._next_loss(hm, table, ahead, w[:, m:], negatives, log_q)
        keep = target >= 0
        if net.watch_head is not None:
            counts = windows.counts[batch, 1:].to(device)
            fraction = (w[:, 1:] / counts.clamp(min=1))[keep].clamp(0, 1)
            pair = torch.cat([h[keep], table[target[keep]]], -1)  # (n, 2D)
            logit = net.watch_head(pair)[:, 0]
            out["watch"] = F.binary_cross_entropy_with_logits(logit, fraction)
        if net.genre_head is not None:
            genres = self._genre_targets().to(device)[target[keep]]  # (n, G)
            has = genres.sum(1) > 0
            if has.any():
                logits = net.genre_head(h[keep][has])  # (n, G)
                share = genres[has] / genres[has].sum(1, keepdim=True)  # a title's genres
                out["genre"] = -(share * F.log_softmax(logits, 1)).sum(1).mean()
        return out

    def _genre_targets(self) -> torch.Tensor:
        """(I, genre_buckets) float32 multi-hot genre buckets of every title."""
        assert self.features is not None
        f = self.features
        out = torch.zeros(len(f.genre_off) - 1, self.config.genre_buckets)
        rows = torch.repeat_interleave(torch.arange(len(f.genre_off) - 1), f.genre_off.diff())
        out[rows, f.genre_idx] = 1.0
        return out

    def objective_losses(
        self, interactions: Interactions | None = None, *, batch_size: int = 256
    ) -> dict[str, float]:
        """Mean loss of each objective (see :meth:`_batch_losses`), exact softmax, no dropout,
        on ``interactions`` (titles the model does not know are dropped) or on the training
        plays: what the heads learned, measurable on held-out data."""
        assert self.net is not None
        if interactions is None:
            windows = self._windows(np.ones(len(self._history_items), bool))
        else:
            windows = self._windows_of(interactions)
        self.net.eval()
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        with torch.no_grad():
            for batch in torch.arange(len(windows.items)).split(batch_size):
                at = float(windows.end_time[batch.numpy()].max())
                table = self.net.table(self.features, at)  # type: ignore[arg-type]
                empty = torch.zeros(0)
                for name, value in self._batch_losses(windows, batch, table, None, empty).items():
                    sums[name] = sums.get(name, 0.0) + float(value) * len(batch)
                    counts[name] = counts.get(name, 0) + len(batch)
        return {name: sums[name] / counts[name] for name in sums}

    def _windows_of(self, interactions: Interactions) -> Windows:
        """Windows of other interactions, read the way ``fit`` reads its own."""
        columns = np.array([self._item_index.get(str(i), -1) for i in interactions.item_ids])
        known = np.flatnonzero(columns >= 0)
        _, user_rows = np.unique(interactions.user_ids[known].astype(str), return_inverse=True)
        order = known[np.lexsort((interactions.timestamps[known], user_rows))]
        offsets = np.concatenate([[0], np.cumsum(np.bincount(user_rows))]).astype(np.int64)
        devices = device_codes(
            None if interactions.devices is None else interactions.devices[order],
            self.config.device_buckets,
            len(order),
        )
        arrays = [
            columns[order].astype(np.int64),
            interactions.timestamps[order],
            devices,
            interactions.weights[order],
        ]
        plays = None
        if self.config.merge_repeats:
            offsets, plays, arrays = merge_repeats(offsets, *arrays)
        items, times, devs, weights = arrays
        return make_windows(
            offsets, items, times, weights, self.config.max_len, devices=devs, counts=plays
        )

    def _validate(self, validation: Validation, k: int = 10) -> float:
        """NDCG@k of the held-out plays, each ranked among all titles not in its history."""
        assert self.net is not None
        self.net.eval()
        self._table_cache = None  # the weights moved: the cached item table is stale
        gains = []
        for start in range(0, len(validation.targets), 256):
            part = slice(start, start + 256)
            histories = validation.histories[part]
            scores = self._score_plays(
                histories, at=validation.times[part], devices=validation.devices[part]
            )  # (b, I)
            for row, plays in enumerate(histories):
                scores[row, plays.columns] = -np.inf
            targets = validation.targets[part]
            target = scores[np.arange(len(targets)), targets]
            rank = (scores > target[:, None]).sum(1)  # (b,) 0-based, ties in its favour
            gains.append(np.where(rank < k, 1.0 / np.log2(rank + 2.0), 0.0))
        self._table_cache = None
        return float(np.concatenate(gains).mean())

    @staticmethod
    def _next_loss(
        h: torch.Tensor,
        table: torch.Tensor,
        target: torch.Tensor,
        weight: torch.Tensor,
        negatives: torch.Tensor | None,
        log_q: torch.Tensor,
    ) -> torch.Tensor:
        """Weighted mean cross-entropy of ``target`` (B, T) (-1 = padding) given ``h``."""
        keep = target >= 0
        losses = softmax_loss(h[keep], table, target[keep], negatives=negatives, log_q=log_q)
        return weighted_mean(losses, weight[keep])

    # ---- warm start and alignment ---------------------------------------------------------

    def _can_warm_start(self, previous: Recommender | None) -> bool:
        if not isinstance(previous, SASRecRecommender) or previous.net is None:
            return False
        keys = ("dim", "blocks", "heads", "ffn_mult", "max_len", "mtp_k", "use_time")
        keys += ("use_metadata", "genre_buckets", "maturity_buckets", "text_buckets")
        keys += ("use_device", "device_buckets", "merge_repeats", "position_from")
        heads = ("watch_weight", "genre_weight")  # a head exists or not: same shapes
        return all(getattr(previous.config, k) == getattr(self.config, k) for k in keys) and all(
            (getattr(previous.config, k) > 0) == (getattr(self.config, k) > 0) for k in heads
        )

    def _copy_from(self, net: SASRecNet, previous: SASRecRecommender) -> None:
        """Start from ``previous``: shared weights as they are, ID rows matched by title id,
        and new titles' ID rows set to the previous tower's metadata embedding."""
        assert previous.net is not None and self.features is not None
        state = {k: v for k, v in previous.net.state_dict().items() if k != "item_embedding"}
        state["rotation"] = torch.eye(self.config.dim)
        state["item_embedding"] = net.item_embedding.detach().clone()
        net.load_state_dict(state)
        old = {item: col for col, item in enumerate(previous.item_ids)}
        pairs = [(col, old[i]) for col, i in enumerate(self.item_ids) if i in old]
        new_cols = torch.tensor([col for col, i in enumerate(self.item_ids) if i not in old])
        with torch.no_grad():
            if pairs:
                cols, old_cols = (torch.tensor(x) for x in zip(*pairs, strict=True))
                # raw rows: a version's rotation applies only to the vectors it exports
                net.item_embedding[cols] = previous.net.item_embedding.cpu()[old_cols]
            if len(new_cols) and net.tower is not None:
                meta = net.tower(self.features, self.features.numeric(self.trained_until))
                net.item_embedding[new_cols] = meta[new_cols]

    def _align_to(self, previous: SASRecRecommender) -> dict[str, float]:
        """Set ``net.rotation`` to the orthogonal R minimising ||V R - V_prev||_F over shared
        titles (Procrustes: R = U W^T from the SVD of V^T V_prev); returns the drift
        ||V - V_prev|| / ||V_prev|| before and after."""
        shared = [i for i in self.item_ids if i in set(previous.item_ids)]
        if len(shared) < 2:
            return {}
        at = self.trained_until
        new = self.item_vectors(at=at, rotate=False)[[self._item_index[i] for i in shared]]
        old = previous.item_vectors(at=at)[[previous._item_index[i] for i in shared]]
        rotation, before, after = procrustes(new, old)
        assert self.net is not None
        self.net.rotation.copy_(torch.from_numpy(rotation))
        self._table_cache = None
        return {"drift_before_align": before, "drift_after_align": after, "shared": len(shared)}

    def _set_unplayed_from_metadata(self, plays: np.ndarray) -> None:
        """Titles without a training play get their ID row from the metadata tower (their ID
        embedding only ever saw negative gradient)."""
        net = self.net
        if net is None or net.tower is None or self.features is None or plays.all():
            return
        cols = torch.from_numpy(np.flatnonzero(plays == 0)).to(net.item_embedding.device)
        net.eval()
        with torch.no_grad():
            meta = net.tower(self.features, self.features.numeric(self.trained_until))
            net.item_embedding[cols] = meta[cols]

    def item_vectors(self, *, at: float | None = None, rotate: bool = True) -> np.ndarray:
        """(I, D) float32 item vectors at ``at`` in the aligned space (comparable across
        versions after a warm start with ``align``)."""
        table = self._table(self.trained_until if at is None else at)
        if rotate:
            table = table @ self.net.rotation  # type: ignore[union-attr]
        return table.cpu().numpy()

    def member_vectors(self, histories: list[Plays | tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """(B, D) float32 hidden states of play histories (each non-empty: :class:`Plays`, or
        (columns, times) oldest first with devices unknown), right after the last play, in the
        aligned space: the vectors whose dot product with ``item_vectors`` at that time scores
        the next play (stored embeddings)."""
        assert self.net is not None
        plays = [
            h
            if isinstance(h, Plays)
            else Plays(
                np.asarray(h[0], np.int64),
                np.asarray(h[1], np.float64),
                np.zeros(len(h[0]), np.int64),
                np.ones(len(h[0]), np.float32),
            )
            for h in histories
        ]
        h, _ = self._hidden(plays, at=None, devices=np.zeros(len(plays), np.int64))
        return (h @ self.net.rotation).cpu().numpy()

    # ---- scoring -------------------------------------------------------------------------

    def _table(self, at: float) -> torch.Tensor:
        """Item vectors at ``at``, cached per hour (the age gate moves slowly)."""
        assert self.net is not None and self.features is not None
        hour = math.floor(at / 3600.0)
        if self._table_cache is None or self._table_cache[0] != hour:
            self.net.eval()
            with torch.inference_mode():
                # detached: without the tower the table is the ID parameter itself
                table = self.net.table(self.features, hour * 3600.0).detach()
                self._table_cache = (hour, table)
        return self._table_cache[1]

    def _sequence(self, *, row: int = -1, plays: History | None = None) -> Plays:
        """A member's :class:`Plays`: the request-time ``plays`` (``(item_id, t[, device[,
        weight]])``, unknown titles dropped, sorted by time) or the training plays of ``row``."""
        if plays is None:
            if row < 0 or row + 1 >= len(self._history_offsets):
                return self._training_plays(0, 0)
            start, stop = self._history_offsets[row], self._history_offsets[row + 1]
            if len(self._play_devices) != len(self._history_items):  # an older checkpoint
                return Plays(
                    self._history_items[start:stop],
                    self._history_times[start:stop],
                    np.zeros(stop - start, np.int64),
                    np.ones(stop - start, np.float32),
                )
            return self._training_plays(start, stop)
        rows = [p for p in plays if str(p[0]) in self._item_index]
        order = np.argsort(np.array([float(p[1]) for p in rows], np.float64), kind="stable")
        rows = [rows[i] for i in order]
        return Plays(
            np.array([self._item_index[str(p[0])] for p in rows], np.int64),
            np.array([float(p[1]) for p in rows], np.float64),
            device_codes(
                [p[2] if len(p) > 2 else None for p in rows], self.config.device_buckets, len(rows)
            ),
            np.array([float(p[3]) if len(p) > 3 else 1.0 for p in rows], np.float32),
        )

    def _sequence_length(self, sequence: Plays) -> int:
        return len(sequence)

    def _score_histories(
        self,
        histories: list[Plays],
        *,
        at: np.ndarray | None,
        devices: list[str | None] | None = None,
    ) -> np.ndarray:
        codes = device_codes(devices, self.config.device_buckets, len(histories))
        return self._score_plays(histories, at=at, devices=codes)

    def tokens(self, plays: Plays) -> tuple[Plays, np.ndarray]:
        """(the tokens the model reads from ``plays``, (n,) play count of each): with
        ``merge_repeats`` consecutive plays of a title are one token, else each play is."""
        if not self.config.merge_repeats:
            return plays, np.ones(len(plays), np.float32)
        offsets = np.array([0, len(plays)], np.int64)
        _, counts, arrays = merge_repeats(
            offsets, plays.columns, plays.times, plays.devices, plays.weights
        )
        return Plays(*arrays), counts

    def _score_plays(
        self, histories: list[Plays], *, at: np.ndarray | None, devices: np.ndarray
    ) -> np.ndarray:
        """(b, I) scores of each history's last ``max_len`` tokens, requested at ``at`` (b,)
        (None: right after the last play) from the device buckets ``devices`` (b,)."""
        h, table = self._hidden(histories, at=at, devices=devices)
        return (h @ table.T).cpu().numpy()  # (B, I); the rotation cancels in h R (V R)^T

    def _hidden(
        self, histories: list[Plays], *, at: np.ndarray | None, devices: np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """((b, D) the request's hidden state, (I, D) the item table at the request): what
        scoring multiplies, from each history's last ``max_len`` tokens (see _score_plays)."""
        assert self.net is not None
        merged = [self.tokens(plays) for plays in histories]
        length = min(self.config.max_len, max(len(p) for p, _ in merged))
        b = len(histories)
        items = np.full((b, length), -1, np.int64)
        times = np.zeros((b, length), np.float64)
        devs = np.zeros((b, length), np.int64)
        weights = np.zeros((b, length), np.float32)
        counts = np.zeros((b, length), np.float32)
        for row, (plays, count) in enumerate(merged):
            n = min(length, len(plays))
            items[row, -n:], times[row, -n:] = plays.columns[-n:], plays.times[-n:]
            devs[row, -n:], weights[row, -n:] = plays.devices[-n:], plays.weights[-n:]
            counts[row, -n:] = count[-n:]
            times[row, :-n] = plays.times[-n]
        last = times[:, -1]
        request = last if at is None else at  # (B,) unknown: right after the last play
        next_times = np.concatenate([times[:, 1:], request[:, None]], 1)
        table = self._table(float(request.max()))
        device = table.device  # the net's: built on the CPU, run there
        tokens = Tokens(
            torch.from_numpy(items),
            torch.from_numpy(time_inputs(times, next_times)),  # (B, T, 5)
            torch.from_numpy(devs),
            torch.from_numpy(repeat_inputs(counts, weights)),
        ).to(device)
        query = torch.from_numpy(query_inputs(request, last)).to(device)  # (B, 5)
        codes = torch.from_numpy(np.asarray(devices, np.int64)).to(device)
        valid = items >= 0
        mask = None if valid.all() else attention_mask(torch.from_numpy(valid).to(device))
        with torch.inference_mode():
            h = self.net.encode(self.net.embed(table, tokens), mask)[:, -1]  # (B, D)
            h = self.net.query(h, query, codes)
        return h, table

    # ---- catalogue growth and checkpoints -------------------------------------------------

    def _extend_items(self, new: ItemMetadata) -> None:
        """Embed new titles from metadata (ID row = tower output); without the tower they get
        the mean ID embedding. A missing added_at counts as "added at the end of training"."""
        assert self.net is not None and self.features is not None
        added = np.where(np.isnan(new.added_at), self.trained_until, new.added_at)
        feats = ItemFeatures.from_metadata(
            replace(new, added_at=added.astype(np.float64)),
            genre_buckets=self.config.genre_buckets,
            maturity_buckets=self.config.maturity_buckets,
            text_buckets=self.config.text_buckets,
        )
        self.features = self.features.concat(feats)
        net = self.net
        with torch.no_grad():
            if net.tower is not None:
                rows = net.tower(feats, feats.numeric(self.trained_until))
            else:
                rows = net.item_embedding.mean(0, keepdim=True).expand(len(new), -1)
            net.item_embedding = nn.Parameter(torch.cat([net.item_embedding, rows]))
        self._table_cache = None

    @classmethod
    def _from_checkpoint(cls, checkpoint: dict[str, Any], directory: Path) -> Self:
        """A checkpoint loads on the CPU whatever ``torch_device`` it was trained with (a
        model trained on a GPU serves on a machine without one), so the loaded config says
        "cpu"."""
        config = checkpoint.get("config")
        if isinstance(config, dict) and "torch_device" in config:
            checkpoint = {**checkpoint, "config": {**config, "torch_device": "cpu"}}
        return super()._from_checkpoint(checkpoint, directory)

    def _state_dict(self) -> dict[str, torch.Tensor]:
        assert self.net is not None and self.features is not None
        # CPU tensors whatever the device it trained on: the platform loads and serves on CPU
        state = {f"net.{k}": v.detach().cpu().clone() for k, v in self.net.state_dict().items()}
        state.update(self.features.state())
        state["play_devices"] = torch.from_numpy(self._play_devices.copy())
        state["play_weights"] = torch.from_numpy(self._play_weights.copy())
        state["trained_until"] = torch.tensor(self.trained_until, dtype=torch.float64)
        return state

    def _load_state(self, state: dict[str, torch.Tensor]) -> None:
        state = dict(state)
        self.trained_until = float(state.pop("trained_until"))
        # per-play device and weight of the training plays (checkpoints before them: none)
        devices, weights = state.pop("play_devices", None), state.pop("play_weights", None)
        if devices is not None and weights is not None:
            self._play_devices = devices.numpy().astype(np.int64)
            self._play_weights = weights.numpy().astype(np.float32)
        self.features = ItemFeatures.from_state(state)
        if len(self.features) != len(self.item_ids):
            raise ValueError(f"item features cover {len(self.features)} titles, not all")
        with torch.random.fork_rng(devices=[]):  # the initial values are overwritten anyway
            net = SASRecNet(len(self.item_ids), self.config)
        net.load_state_dict({k.removeprefix("net."): v for k, v in state.items()})
        net.eval()
        self.net = net
        self._table_cache = None


def procrustes(new: np.ndarray, old: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Orthogonal Procrustes: the rotation R minimising ||new R - old||_F, for (n, D) vectors
    of the same n titles in two versions (R = U W^T from the SVD of new^T old; Schoenemann
    1966). Returns (R (D, D) float32, drift before, drift after), drift being
    ||new - old|| / ||old||, the part of the change between versions that is only a rotation
    of the space, which alignment removes, shows as before - after."""
    u, _, wt = np.linalg.svd(new.T.astype(np.float64) @ old.astype(np.float64))
    rotation = (u @ wt).astype(np.float32)  # (D, D) orthogonal
    norm = float(np.linalg.norm(old))
    before = float(np.linalg.norm(new - old)) / norm
    after = float(np.linalg.norm(new @ rotation - old)) / norm
    return rotation, before, after
