"""Incremental serving for SASRec: a KV cache over a member's history.

When a member plays one more title, the next page need not run the whole history through
the encoder again. Causal attention means a play's keys and values at every block depend
only on the plays up to it, so they can be kept and reused; only the new plays are run,
attending to the cached ones. Two things in the model make this possible only in part:

- **Positions.** With ``position_from = "end"`` (the default) the newest play always sits
  at the last position, so one more play shifts every position and no cached state stays
  valid. The cache therefore needs a model trained with ``position_from = "start"``.
- **The gap to the next request.** A play's time input holds the hours until the next
  request, which for the newest play is the request being served. So the cache keeps every
  play but the newest ("final" plays, whose inputs no longer change) and runs the newest
  one, with the request time, on every call; with ``merge_repeats`` the newest token may
  also still grow.

A history longer than ``max_len`` slides the window, which moves every position: such a
call recomputes (``recomputed`` counts them). The scores equal
``model.score(histories=[plays], at=..., devices=...)`` to float rounding.
"""

from __future__ import annotations

import numpy as np
import torch

from recommender.base import History
from recommender.sasrec import (
    Plays,
    SASRecRecommender,
    Tokens,
    device_codes,
    query_inputs,
    repeat_inputs,
    time_inputs,
)


class HistoryCache:
    """One member's cached keys and values; ``scores`` serves each new request."""

    def __init__(self, model: SASRecRecommender) -> None:
        if model.net is None:
            raise RuntimeError("SASRecRecommender is not fitted: call fit() or load()")
        if model.config.position_from != "start":
            raise ValueError(
                "a KV cache needs a model trained with position_from='start' (with 'end' "
                "every new play moves every position); got position_from="
                f"{model.config.position_from!r}"
            )
        self.model = model
        self.recomputed = 0
        """Calls that could not reuse the cache (a changed past, or a full window)."""
        self.reset()

    def reset(self) -> None:
        """Forget the cached plays."""
        self._tokens: Plays | None = None  # the final tokens held in the cache
        self._counts = np.zeros(0, np.float32)
        self._keys: list[torch.Tensor] = []  # per block (1, H, n, D/H)
        self._values: list[torch.Tensor] = []

    def scores(
        self, history: History, *, at: float | None = None, device: str | None = None
    ) -> np.ndarray:
        """(I,) float32 scores for the member whose plays so far are ``history`` (as for
        ``score``: ``(item_id, t[, device[, weight]])``, oldest first), requested at ``at``
        (None: right after the last play) from ``device``."""
        model = self.model
        plays = model._sequence(plays=history)
        if len(plays) == 0:
            return model.prior.copy()
        tokens, counts = model.tokens(plays)
        if len(tokens) > model.config.max_len:  # the window slides: every position moves
            self.recomputed += 1
            self.reset()
            return model.score([""], histories=[history], at=at, devices=device)[0]
        final = len(tokens) - 1
        n = 0 if self._tokens is None else len(self._tokens)
        if n > final or (n and not self._same_prefix(tokens, counts, n)):
            self.recomputed += 1
            self.reset()
            n = 0
        request = tokens.times[-1] if at is None else float(at)
        table = model._table(request)
        net = model.net
        assert net is not None
        where = table.device  # the net's (a loaded checkpoint: the CPU)
        with torch.inference_mode():
            if final > n:  # plays that became final since the last call join the cache
                new = self._inputs(tokens, counts, n, final, tokens.times[n + 1 : final + 1])
                self._run(net.embed(table, new.to(where), start=n), keep=True)
            self._tokens, self._counts = tokens[:final], counts[:final]
            last = self._inputs(tokens, counts, final, final + 1, np.array([request]))
            h = self._run(net.embed(table, last.to(where), start=final), keep=False)[:, -1]
            query = torch.from_numpy(query_inputs(np.array([request]), tokens.times[-1:]))
            code = torch.from_numpy(device_codes([device], model.config.device_buckets, 1))
            h = net.query(h, query.to(where), code.to(where))  # (1, D)
            return (h @ table.T).cpu().numpy()[0]

    def _same_prefix(self, tokens: Plays, counts: np.ndarray, n: int) -> bool:
        cached = self._tokens
        assert cached is not None
        return (
            np.array_equal(cached.columns, tokens.columns[:n])
            and np.array_equal(cached.times, tokens.times[:n])
            and np.array_equal(cached.devices, tokens.devices[:n])
            and np.array_equal(cached.weights, tokens.weights[:n])
            and np.array_equal(self._counts, counts[:n])
        )

    @staticmethod
    def _inputs(
        tokens: Plays, counts: np.ndarray, start: int, stop: int, next_times: np.ndarray
    ) -> Tokens:
        """Encoder inputs of tokens ``start:stop``, each followed by ``next_times``."""
        part = tokens[start:stop]
        return Tokens(
            torch.from_numpy(part.columns[None]),
            torch.from_numpy(time_inputs(part.times, next_times)[None]),  # (1, n, 5)
            torch.from_numpy(part.devices[None]),
            torch.from_numpy(repeat_inputs(counts[start:stop], part.weights)[None]),
        )

    def _run(self, x: torch.Tensor, *, keep: bool) -> torch.Tensor:
        """Run new positions ``x`` (1, n, D) through the blocks after the cached ones."""
        net = self.model.net
        assert net is not None
        for b, block in enumerate(net.blocks):
            if b < len(self._keys):
                x, k, v = block.forward_cached(x, self._keys[b], self._values[b])
            else:
                empty = x.new_zeros(1, block.heads, 0, x.shape[-1] // block.heads)
                x, k, v = block.forward_cached(x, empty, empty)
            if keep:
                if b < len(self._keys):
                    self._keys[b] = torch.cat([self._keys[b], k], 2)
                    self._values[b] = torch.cat([self._values[b], v], 2)
                else:
                    self._keys.append(k)
                    self._values.append(v)
        return net.ln_out(x)
