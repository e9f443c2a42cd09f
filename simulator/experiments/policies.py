"""Homepage policies for the in-process experiments, all behind :class:`ExperimentPolicy`.

- :class:`RandomPolicy`: uniformly random available titles (the exploration baseline).
- :class:`PopularityPolicy`: most played titles in its own logs (not personalized).
- :class:`GreedyPolicy`: the project's recommender, retrained every simulated day on the plays
  its own pages produced, showing each member their top-scored unplayed titles. This is the
  loop of Chaney, Stewart and Engelhardt (2018): the model learns from exposures it chose.
- :class:`EpsilonGreedyPolicy`: the same, with each slot replaced by a random title with
  probability ``epsilon``, so the logs keep some evidence about titles the model would hide.
- :class:`OraclePolicy`: ranks by each member's *current* true utility; the upper bound no
  real service can reach.
- :class:`FrozenPolicy`: a fixed score table (a model trained once on logs, never retrained).
- :class:`ModelPolicy`: a trained model, never retrained, scoring each visit at its time
  with the member's plays so far (request-time histories, as the platform's ranker serves).
- ``frozen-greedy`` (:class:`GreedyPolicy` with ``retrain_nights=1``): the greedy policy's
  model from the first night, never retrained: the control without a feedback loop, so
  greedy against it measures what the loop itself does.

Every policy shows only titles in the catalogue at the visit (``available``) and, except the
oracle (which knows satiation), skips titles the member has already played, as homepages do.
The first simulated day, before any log exists, the learning policies show random pages.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Protocol

import numpy as np

from recommender import MODELS, Interactions
from simulator.behaviour import Population
from simulator.runner import POLICY_CHUNK, Policy, VisitLog
from simulator.world import DEVICES, World

DEFAULT_MODEL = "ease"
"""The greedy policy's model: EASE (closed form, so retraining every simulated night is fast)."""
FAST_SETTINGS: dict[str, dict[str, object]] = {
    "ease": {"tune_l2": False, "l2": 50.0},
    "mf": {"epochs": 5},
}
"""Config overrides that keep daily retraining cheap (applied when the field exists)."""


def model_config(kind: str, overrides: dict[str, object] | None = None) -> object:
    """The config of model ``kind`` with the fast settings and ``overrides`` that it has."""
    if kind not in MODELS:
        raise ValueError(f"unknown model kind {kind!r}; the recommender has {sorted(MODELS)}")
    cls = MODELS[kind].config_class
    names = {f.name for f in fields(cls)}
    wanted = {**FAST_SETTINGS.get(kind, {}), **(overrides or {})}
    return cls(**{k: v for k, v in wanted.items() if k in names})


class ExperimentPolicy(Policy, Protocol):
    """What an experiment runs: a runner :class:`~simulator.runner.Policy` that can also
    score every title for members (the offline metric ranks by it) and learn from the log at
    the end of each simulated day."""

    name: str
    """How rows of results name the policy."""

    def scores(
        self,
        members: np.ndarray,
        rng: np.random.Generator,
        *,
        at: np.ndarray | None = None,
        devices: np.ndarray | None = None,
    ) -> np.ndarray | None:
        """(B, T) ranking scores for members (B,) visiting at unix times ``at`` (B,; None:
        no particular time) from ``devices`` (B,; None: no particular device), or None when
        the policy has nothing to rank by yet."""
        ...

    def end_of_day(self, day: int, log: VisitLog, rng: np.random.Generator) -> None:
        """Learn from ``log`` (everything so far) after simulated day ``day``."""
        ...


class _ScoredPages:
    """The shared implementation of the policies here: each member's page is their top
    scored available titles (random while :meth:`scores` has none), skipping titles they
    have played while enough unplayed ones remain."""

    name = "scored"
    skip_played = True

    def __init__(self, world: World, *, rows: int, slots: int) -> None:
        self.world = world
        self.rows, self.slots = rows, slots
        self.played = np.zeros((world.n_members, world.n_titles), dtype=bool)  # (M, T)

    def scores(
        self,
        members: np.ndarray,
        rng: np.random.Generator,
        *,
        at: np.ndarray | None = None,
        devices: np.ndarray | None = None,
    ) -> np.ndarray | None:
        """(B, T) ranking scores for members (B,) visiting at unix times ``at`` (B,), or None
        for a uniformly random page."""
        return None

    def end_of_day(self, day: int, log: VisitLog, rng: np.random.Generator) -> None:
        """Learn from the log (everything so far); here: record who played what."""
        plays = log.plays()
        self.played[plays["member"], plays["title"]] = True

    def pages(
        self,
        members: np.ndarray,
        at: np.ndarray,
        available: np.ndarray,
        rng: np.random.Generator,
        *,
        devices: np.ndarray | None = None,
    ) -> np.ndarray:
        b, k = len(members), self.rows * self.slots
        out = np.empty((b, k), dtype=np.int64)
        for lo in range(0, b, POLICY_CHUNK):
            chunk = members[lo : lo + POLICY_CHUNK]
            part = slice(lo, lo + POLICY_CHUNK)
            scores = self.scores(
                chunk, rng, at=at[part], devices=None if devices is None else devices[part]
            )
            noise = scores is None
            if noise:
                scores = np.zeros((len(chunk), self.world.n_titles))
            ok = np.broadcast_to(available, scores.shape)
            if self.skip_played:
                # Skip played titles while enough unplayed ones remain.
                unplayed = ok & ~self.played[chunk]
                ok = np.where((unplayed.sum(axis=1) >= k)[:, None], unplayed, ok)
            page = _top_k_rows(scores, k, rng if noise else None, ok)
            out[lo : lo + len(chunk)] = page if noise else self._explore(page, ok, rng)
        return out.reshape(b, self.rows, self.slots)

    def _explore(self, page: np.ndarray, ok: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(b, k) a scored ``page`` with some slots changed to explore (``ok`` (b, T): the
        titles allowed); here none are."""
        return page


class _TablePolicy(_ScoredPages):
    """Scores from an (M, T) table of every member's score for every title (None: random
    pages), with tiny noise to break ties at random."""

    table: np.ndarray | None = None

    def scores(
        self,
        members: np.ndarray,
        rng: np.random.Generator,
        *,
        at: np.ndarray | None = None,
        devices: np.ndarray | None = None,
    ) -> np.ndarray | None:
        """The table's rows; ``at`` and ``devices`` are ignored: a table looks at neither."""
        if self.table is None:
            return None
        return self.table[members] + 1e-6 * rng.random((len(members), self.world.n_titles))


def _top_k_rows(
    scores: np.ndarray, k: int, rng: np.random.Generator | None, ok: np.ndarray
) -> np.ndarray:
    """Top-k per row among ``ok`` (B, T); ties (and random pages) broken by tiny noise."""
    masked = np.where(ok, scores, -np.inf)
    if rng is not None:
        masked = masked + rng.gumbel(size=masked.shape)
    top = np.argpartition(-masked, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(masked, top, axis=1), axis=1)
    return np.take_along_axis(top, order, axis=1)


class RandomPolicy(_ScoredPages):
    """Uniformly random available titles: every title equally exposed."""

    name = "random"
    skip_played = False


class PopularityPolicy(_ScoredPages):
    """The titles with the most plays in its own logs (ties broken at random), for everyone."""

    name = "popularity"

    def __init__(self, world: World, *, rows: int, slots: int) -> None:
        super().__init__(world, rows=rows, slots=slots)
        self.counts: np.ndarray | None = None

    def end_of_day(self, day: int, log: VisitLog, rng: np.random.Generator) -> None:
        super().end_of_day(day, log, rng)
        self.counts = np.bincount(log.plays()["title"], minlength=self.world.n_titles)

    def scores(
        self,
        members: np.ndarray,
        rng: np.random.Generator,
        *,
        at: np.ndarray | None = None,
        devices: np.ndarray | None = None,
    ) -> np.ndarray | None:
        if self.counts is None:
            return None
        tie = 1e-3 * rng.random((len(members), self.world.n_titles))
        return self.counts[None, :].astype(np.float64) + tie


class GreedyPolicy(_TablePolicy):
    """The recommender retrained daily on its own logs; each member's top-scored titles.

    Titles the model has never seen a play of (new arrivals, never-shown titles) score
    below every known title: the cold start a greedy loop never escapes on its own.
    """

    name = "greedy"

    def __init__(
        self,
        world: World,
        *,
        rows: int,
        slots: int,
        model: str = DEFAULT_MODEL,
        model_overrides: dict[str, object] | None = None,
        retrain_nights: int | None = None,
    ) -> None:
        """``retrain_nights``: how many nights the model is refitted on the logs (None: every
        night); after them it stays as it is, so its pages no longer feed back into it."""
        if retrain_nights is not None and retrain_nights < 1:
            raise ValueError(f"retrain_nights must be at least 1 or None, got {retrain_nights}")
        super().__init__(world, rows=rows, slots=slots)
        self.kind = model
        self.config_overrides = model_overrides
        self.retrain_nights = retrain_nights
        model_config(model, model_overrides)  # fail early on an unknown kind
        self.table = None  # (M, T) scores of the latest model, after the first night
        self.model = None
        self._ids = np.array([t.external_id for t in world.titles])

    def fit(self, plays: dict[str, np.ndarray], rng: np.random.Generator) -> object:
        """Fit a fresh model on ``plays`` (a VisitLog.plays() dict); returns it."""
        interactions = Interactions.from_records(
            plays["member"].astype(str),
            self._ids[plays["title"]],
            plays["at"].astype(np.float64),
            np.maximum(plays["watched_fraction"], 1e-6),
        )
        model = MODELS[self.kind](model_config(self.kind, self.config_overrides))
        return model.fit(interactions, rng=rng)

    def score_table(self, model: object) -> np.ndarray:
        """(M, T) scores of every member for every title; unknown titles far below."""
        index = self.world.title_index()
        cols = np.array([index[i] for i in model.item_ids])  # type: ignore[attr-defined]
        raw = model.score([str(m) for m in range(self.world.n_members)])  # type: ignore[attr-defined]
        raw = np.asarray(raw, dtype=np.float64)
        lo = raw.min() if raw.size else 0.0
        table = np.full((self.world.n_members, self.world.n_titles), lo - 1e6)
        table[:, cols] = raw
        return table

    def end_of_day(self, day: int, log: VisitLog, rng: np.random.Generator) -> None:
        super().end_of_day(day, log, rng)
        if self.retrain_nights is not None and day >= self.retrain_nights:
            return  # frozen: the model no longer learns from the pages it chose
        plays = log.plays()
        if len(plays["title"]):
            self.model = self.fit(plays, rng)
            self.table = self.score_table(self.model)


class EpsilonGreedyPolicy(GreedyPolicy):
    """Greedy, but each slot shows a random available title with probability ``epsilon``."""

    name = "epsilon-greedy"

    def __init__(self, world: World, *, rows: int, slots: int, epsilon: float = 0.2, **kw) -> None:
        if not 0 <= epsilon <= 1:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
        super().__init__(world, rows=rows, slots=slots, **kw)
        self.epsilon = epsilon

    def _explore(self, page: np.ndarray, ok: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if not self.epsilon:
            return page
        k = page.shape[1]
        # Random candidates from the rest of the catalogue, swapped into explored slots.
        rest = ok.copy()
        np.put_along_axis(rest, page, False, axis=1)
        n_rest = rest.sum(axis=1)
        candidates = _top_k_rows(np.zeros(ok.shape), k, rng, rest)  # (b, k) random
        explore = (rng.random(page.shape) < self.epsilon) & (
            np.arange(k)[None, :] < n_rest[:, None]
        )
        return np.where(explore, candidates, page)


class OraclePolicy(_ScoredPages):
    """Each member's titles of highest current true utility (knows tastes, drift, satiation
    and the visit's context: daypart, device, time away and shows in progress)."""

    name = "oracle"
    skip_played = False

    def __init__(self, world: World, population: Population, *, rows: int, slots: int) -> None:
        super().__init__(world, rows=rows, slots=slots)
        self.population = population

    def scores(
        self,
        members: np.ndarray,
        rng: np.random.Generator,
        *,
        at: np.ndarray | None = None,
        devices: np.ndarray | None = None,
    ) -> np.ndarray | None:
        population = self.population
        u = population.utility_table(members, at=at, devices=devices)  # (B, T)
        allowed = ~population.is_kids[members][:, None] | population.kids_suitable[None, :]
        return np.where(allowed, u, u - 100.0)


class FrozenPolicy(_TablePolicy):
    """A fixed score table: a model trained once on logs, deployed and never retrained."""

    def __init__(
        self,
        world: World,
        table: np.ndarray | None,
        *,
        name: str,
        rows: int,
        slots: int,
        already_played: np.ndarray | None = None,
    ) -> None:
        """``table`` (M, T) scores, or None for random pages; ``already_played`` (M, T) bool,
        what members played before deployment (skipped like the policy's own plays)."""
        super().__init__(world, rows=rows, slots=slots)
        self.table, self.name = table, name
        if already_played is not None:
            self.played |= already_played


class ModelPolicy(_ScoredPages):
    """A trained model deployed and never retrained, scoring each visit at its time with the
    member's plays so far (the training log, then what the deployment's log adds, read as
    the visits happen), as the platform's ranker serves; titles played are skipped."""

    def __init__(
        self,
        world: World,
        model: object,
        *,
        name: str,
        rows: int,
        slots: int,
        history: dict[str, np.ndarray],
        log: VisitLog,
    ) -> None:
        """``history``: the plays before deployment (a ``VisitLog.plays()`` dict); ``log``:
        the deployment run's log, which the runner fills as members visit."""
        super().__init__(world, rows=rows, slots=slots)
        self.model, self.name, self.log = model, name, log
        index = world.title_index()
        self._columns = np.array([index[i] for i in model.item_ids])  # type: ignore[attr-defined]
        self._ids = np.array([t.external_id for t in world.titles], dtype=object)
        self._plays: list[list[tuple[str, float, str]]] = [[] for _ in range(world.n_members)]
        self._add(history["member"], history["title"], history["at"], history["device"])
        self._read = 0  # batches of ``log`` already read

    def _add(
        self, members: np.ndarray, titles: np.ndarray, at: np.ndarray, devices: np.ndarray
    ) -> None:
        """Each play as the platform's request-time history holds it: (title id, time,
        the device it was watched on)."""
        for m, t, when, d in zip(
            members.tolist(), titles.tolist(), at.tolist(), devices.tolist(), strict=True
        ):
            self._plays[m].append((str(self._ids[t]), float(when), DEVICES[d]))
            self.played[m, t] = True

    def _sync(self) -> None:
        """Take in the plays of the batches the runner logged since the last page."""
        while self._read < len(self.log.member):
            title = self.log.played_title[self._read]
            keep = title >= 0
            self._add(
                self.log.member[self._read][keep],
                title[keep],
                self.log.at[self._read][keep],
                self.log.device[self._read][keep],
            )
            self._read += 1

    def scores(
        self,
        members: np.ndarray,
        rng: np.random.Generator,
        *,
        at: np.ndarray | None = None,
        devices: np.ndarray | None = None,
    ) -> np.ndarray | None:
        """The model's scores at the visits' times and from their devices, from the members'
        plays so far (models that do not read the device ignore it)."""
        self._sync()
        raw = self.model.score(  # type: ignore[attr-defined]
            [str(m) for m in members],
            at=at,
            histories=[self._plays[m] for m in members],
            devices=None if devices is None else [DEVICES[d] for d in devices.tolist()],
        )
        table = np.full((len(members), self.world.n_titles), -1e9)
        table[:, self._columns] = np.asarray(raw, dtype=np.float64)
        return table + 1e-6 * rng.random(table.shape)
