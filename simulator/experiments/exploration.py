"""Exploration, measured: the explorer's bandits against the greedy loop, and artwork.

Two experiments on one world, with the runner and the daily metrics of the other
experiments (:func:`~simulator.experiments.runs.run_policy`):

**Pages.** Every policy starts from the greedy policy (the project's EASE, retrained every
night on its own logs, each member's top unplayed titles). An explorer then fills the first
``explore_slots`` positions of the top row from a pool of ``n_candidates`` titles: the
model's best half, and a uniformly drawn half of the other available unplayed titles (the
titles the loop would hide). The explorers are the project's own (``recommender.bandits``,
by name through :func:`~recommender.bandits.make_policy`): ``epsilon_greedy`` over the
model's scores; ``linucb_hybrid`` (Li, Chu, Langford and Schapire 2010: a ridge regression
of the reward on the member's context, shared across titles through their features plus
one per title, and an upper confidence bound); ``thompson_hybrid`` (Chapelle and Li 2011:
the same regression, a draw from its posterior instead of the bound). The hybrid models are
the ones that can use the model's opinion (a title feature) and judge a title never shown.
Each explorer is updated every night, as the platform's ``exploration.tasks.update`` does,
from the impressions of its slots that members examined: the reward is the watched
fraction of a play, 0 for an examined title left unplayed. The oracle (each member's
titles of highest true utility) is the reference of the regret.

**Artwork.** The greedy policy's pages, with the artwork of every slot chosen four ways:
``fixed`` (variant 0, what a service without artwork personalization shows), ``random``,
``bandit`` (a contextual bandit over the variants, by default disjoint LinUCB: one
ridge regression per variant on the member's context; one choice per visit, shown on every
title of the page, rewarded 1 when the member plays a title from the page: the idea of
Netflix's artwork personalization, Chandrashekar et al. 2017) and ``oracle`` (the variant of highest
hidden appeal for the member and title: the upper bound).

The member's context (what a platform could compute from its logs): the share of each
published genre among the member's plays so far (13 numbers, 0 before any play) and a
constant 1. A pool title's features: a constant 1, its model score as a rank within the
pool (1 the best), whether it arrived in the last 30 days, and how well its genres match
the member's plays (the mean share of its genres).

Regret is cumulative: the sum over days of the oracle's true satisfaction per visit minus
the policy's (pages), or of the oracle artwork's plays per visit minus the arm's (artwork),
each the same day of a run of the same world and seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from recommender.bandits import Candidates, Feedback, Policy, make_policy
from simulator.experiments.policies import DEFAULT_MODEL, GreedyPolicy
from simulator.experiments.runs import Settings, run_policy
from simulator.runner import PopulationRunner, VisitLog
from simulator.world import GENRES, RECENT_DAYS, World

PAGE_POLICIES = ("greedy", "epsilon_greedy", "linucb_hybrid", "thompson_hybrid", "oracle")
"""The page experiment's policies (greedy and oracle are the two ends)."""
ARTWORK_ARMS = ("fixed", "random", "bandit", "oracle")
"""The artwork experiment's arms, all on the greedy policy's pages."""
PAGE_METRICS = (
    "retention",
    "satisfaction",
    "plays_per_visit",
    "coverage",
    "gini_exposure",
    "homogenization",
    "regret",
)
N_TITLE_FEATURES = 4
"""Width of a pool title's features: bias, model rank score, new arrival, genre match."""
ARTWORK_METRICS = ("plays_per_visit", "satisfaction", "retention", "regret", "artwork_gap")


@dataclass(frozen=True)
class ExplorationSettings:
    """The explorers' knobs; the scale is the shared :class:`Settings`."""

    explore_slots: int = 5
    """Positions of the top row the explorer fills (the rest stay greedy)."""
    n_candidates: int = 40
    """Titles in the explorer's pool: the model's best half, a random half of the rest."""
    epsilon: float = 0.2
    """Exploration share of epsilon_greedy."""
    alpha: float = 0.1
    """Width of the page explorer LinUCB's confidence bound (rewards are watched fractions,
    mostly 0: a narrow bound)."""
    thompson_scale: float = 0.1
    """Scale of the page explorer Thompson sampling's posterior draws."""
    floor: float = 1e-4
    """Least probability of every pool title at every position (all explorers)."""
    artwork_policy: str = "thompson"
    """The artwork bandit's policy (``recommender.bandits`` name)."""
    artwork_params: dict[str, object] = field(default_factory=lambda: {"scale": 0.1})
    """The artwork bandit's parameters (the ones its policy declares are passed)."""
    params: dict[str, dict[str, object]] = field(default_factory=dict)
    """Extra parameters per policy name, passed to ``make_policy`` as given."""

    def explorer(self, name: str) -> Policy:
        """A fresh page explorer ``name`` with these settings (the parameters it declares)."""
        wanted = {
            "epsilon": self.epsilon,
            "alpha": self.alpha,
            "scale": self.thompson_scale,
            "floor": self.floor,
            **self.params.get(name, {}),
        }
        return _make(name, wanted)

    def artwork_bandit(self) -> Policy:
        """A fresh artwork bandit (``artwork_policy`` with ``artwork_params``)."""
        return _make(self.artwork_policy, {"floor": self.floor, **self.artwork_params})


def _make(name: str, wanted: dict[str, object]) -> Policy:
    """``make_policy(name, ...)`` with the entries of ``wanted`` that ``name`` declares."""
    from recommender.bandits import policy_params

    known = {p["name"] for p in policy_params(name)}
    return make_policy(name, **{k: v for k, v in wanted.items() if k in known})


def member_contexts(genre_plays: np.ndarray) -> np.ndarray:
    """(B, len(GENRES) + 1) contexts from genre play counts (B, len(GENRES)): the share of
    each genre among the member's plays (0 before any play), then a constant 1."""
    total = genre_plays.sum(axis=1, keepdims=True)
    share = np.divide(genre_plays, total, out=np.zeros_like(genre_plays), where=total > 0)
    return np.hstack([share, np.ones((len(share), 1))])


@dataclass
class _Decisions:
    """What an explorer chose for each visit of the batches the runner has not logged yet
    (appended in the runner's order: the i-th decision is the i-th visit logged next)."""

    contexts: list[np.ndarray] = field(default_factory=list)
    actions: list[np.ndarray] = field(default_factory=list)
    propensities: list[np.ndarray] = field(default_factory=list)
    features: list[np.ndarray] = field(default_factory=list)

    def __len__(self) -> int:
        return sum(len(a) for a in self.actions)

    def take(self) -> tuple[np.ndarray, ...]:
        out = tuple(
            np.concatenate(part) if part else np.zeros((0,))
            for part in (self.contexts, self.actions, self.propensities, self.features)
        )
        self.contexts, self.actions, self.propensities, self.features = [], [], [], []
        return out


class ExplorationPolicy(GreedyPolicy):
    """The greedy policy, with an explorer in the top row and an artwork chooser.

    ``explorer`` (None: greedy pages) fills the first ``explore_slots`` positions; ``artwork``
    is ``"fixed"``, ``"random"``, ``"oracle"`` or ``"bandit"`` (then ``artwork_bandit`` picks
    one variant per visit). Both bandits learn every night from what the day's log shows
    of their choices (module docstring).
    """

    def __init__(
        self,
        world: World,
        *,
        name: str,
        rows: int,
        slots: int,
        model: str = DEFAULT_MODEL,
        explorer: Policy | None = None,
        explore_slots: int = 5,
        n_candidates: int = 40,
        artwork: str = "fixed",
        artwork_bandit: Policy | None = None,
    ) -> None:
        super().__init__(world, rows=rows, slots=slots, model=model)
        if not 1 <= explore_slots <= slots:
            raise ValueError(f"explore_slots must be in [1, {slots}], got {explore_slots}")
        if n_candidates < explore_slots:
            raise ValueError(
                f"n_candidates ({n_candidates}) must be at least explore_slots ({explore_slots})"
            )
        if artwork not in ARTWORK_ARMS:
            raise ValueError(f"artwork must be one of {', '.join(ARTWORK_ARMS)}, got {artwork!r}")
        if (artwork == "bandit") != (artwork_bandit is not None):
            raise ValueError("artwork='bandit' needs an artwork_bandit, and only it")
        self.name = name
        self.explorer, self.explore_slots, self.n_candidates = explorer, explore_slots, n_candidates
        self.artwork_mode, self.artwork_bandit = artwork, artwork_bandit
        self.genre_matrix = world.genre_matrix.astype(np.float64)  # (T, G) public
        self.genre_plays = np.zeros((world.n_members, len(GENRES)))  # (M, G)
        self.new_until = world.added_at_unix + RECENT_DAYS * 86400.0
        self._pages = _Decisions()
        self._art = _Decisions()
        self._logged = 0  # visits of the log already learnt from
        self.updates = 0  # feedback rows the explorers learnt from
        self.daily: list[dict[str, float]] = []
        """Per day: ``explore_reward`` (mean reward of the examined explorer slots) and
        ``artwork_gap`` (mean hidden appeal lost, per examined item, against the variant
        that would have appealed most to its member): what only the simulator can say about what was learnt."""

    # Pages

    def pages(
        self,
        members: np.ndarray,
        at: np.ndarray,
        available: np.ndarray,
        rng: np.random.Generator,
        *,
        devices: np.ndarray | None = None,
    ) -> np.ndarray:
        pages = super().pages(members, at, available, rng, devices=devices)
        if self.explorer is None:
            return pages
        k, b = self.explore_slots, len(members)
        contexts = member_contexts(self.genre_plays[members])
        chosen = np.full((b, k), -1, dtype=np.int64)  # -1: greedy slot, nothing to learn
        propensities = np.ones((b, k))
        features = np.zeros((b, k, N_TITLE_FEATURES))
        if self.table is None:  # the first day: random pages, as every policy shows
            self._record(self._pages, contexts, chosen, propensities, features)
            return pages
        for i, member in enumerate(members):
            pool = self._pool(int(member), available, rng)
            pool_features = self._features(int(member), pool, float(at[i]))
            choice = self.explorer.choose(
                contexts[i],
                Candidates(ids=pool, features=pool_features, scores=self.table[member, pool]),
                k,
                rng,
            )
            picked = choice.actions
            flat = pages[i].ravel()
            rest = flat[~np.isin(flat, picked)][: flat.size - k]
            pages[i] = np.concatenate([picked, rest]).reshape(self.rows, self.slots)
            chosen[i], propensities[i] = picked, choice.propensities
            features[i] = pool_features[(pool[None, :] == picked[:, None]).argmax(axis=1)]
        self._record(self._pages, contexts, chosen, propensities, features)
        return pages

    def _pool(self, member: int, available: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The explorer's pool: the model's best half of the available unplayed titles and
        a uniform draw from the rest (the played ones too when too few are unplayed)."""
        ok = available & ~self.played[member]
        if ok.sum() < self.n_candidates:
            ok = available.copy()
        idx = np.flatnonzero(ok)
        scores = self.table[member, idx]
        half = self.n_candidates // 2
        order = np.argsort(-scores, kind="stable")
        best, others = idx[order[:half]], idx[order[half:]]
        drawn = rng.choice(others, size=self.n_candidates - half, replace=False)
        return np.concatenate([best, drawn]).astype(np.int64)

    def _features(self, member: int, pool: np.ndarray, at: float) -> np.ndarray:
        """(n, N_TITLE_FEATURES) features of the pool's titles (module docstring). The model
        score enters as its rank in the pool, 1 the best, 0 the worst (titles the model has
        never seen score far below the rest, so a raw or standardised score would not do)."""
        ranks = np.argsort(np.argsort(-self.table[member, pool], kind="stable"), kind="stable")
        rank_score = 1.0 - ranks / max(len(pool) - 1, 1)
        new = (at < self.new_until[pool]).astype(np.float64)
        genres = self.genre_matrix[pool]
        share = member_contexts(self.genre_plays[[member]])[0, :-1]
        match = genres @ share / np.maximum(genres.sum(axis=1), 1.0)
        return np.stack([np.ones(len(pool)), rank_score, new, match], axis=1)

    # Artwork

    def artwork(
        self,
        members: np.ndarray,
        at: np.ndarray,
        pages: np.ndarray,
        rng: np.random.Generator,
        *,
        devices: np.ndarray | None = None,
    ) -> np.ndarray:
        """(B, rows, slots) the variant of every slot (class docstring)."""
        n_variants = self.world.n_artwork_variants
        if self.artwork_mode == "fixed":
            return np.zeros(pages.shape, dtype=np.int64)
        if self.artwork_mode == "random":
            return rng.integers(n_variants, size=pages.shape)
        if self.artwork_mode == "oracle":
            who = np.repeat(members, pages[0].size)
            titles = pages.reshape(-1)
            appeal = np.stack(
                [
                    self.world.artwork_appeal_of(who, titles, np.full(len(titles), v))
                    for v in range(n_variants)
                ],
                axis=1,
            )  # (B * rows * slots, variants)
            return appeal.argmax(axis=1).reshape(pages.shape)
        contexts = self.artwork_contexts(members)
        styles = self.world.artwork_style_matrix.astype(np.float64)  # (V, styles)
        variants = Candidates(ids=np.arange(n_variants), features=styles)
        chosen = np.empty((len(members), 1), dtype=np.int64)
        propensities = np.empty((len(members), 1))
        for i in range(len(members)):
            choice = self.artwork_bandit.choose(contexts[i], variants, 1, rng)
            chosen[i], propensities[i] = choice.actions, choice.propensities
        self._record(self._art, contexts, chosen, propensities, styles[chosen])
        return np.broadcast_to(chosen[:, :, None], pages.shape).copy()

    def artwork_contexts(self, members: np.ndarray) -> np.ndarray:
        """(B, len(GENRES) + 1 + n_members) the artwork bandit's contexts: the member context
        and a one-hot of the member (a service knows who is asking), so that the bandit
        can learn each member's own taste for a style on top of what their genres say."""
        one_hot = np.zeros((len(members), self.world.n_members))
        one_hot[np.arange(len(members)), members] = 1.0
        return np.hstack([member_contexts(self.genre_plays[members]), one_hot])

    @staticmethod
    def _record(decisions: _Decisions, *parts: np.ndarray) -> None:
        for store, part in zip(
            (decisions.contexts, decisions.actions, decisions.propensities, decisions.features),
            parts,
            strict=True,
        ):
            store.append(part)

    # Learning

    def end_of_day(self, day: int, log: VisitLog, rng: np.random.Generator) -> None:
        """Retrain the model (greedy), then update the explorers from the new visits."""
        super().end_of_day(day, log, rng)
        lo, hi = self._logged, log.n_visits
        self._logged = hi
        day_stats = {"explore_reward": float("nan"), "artwork_gap": self._appeal(log, lo)}
        if self.explorer is not None:
            day_stats["explore_reward"] = self._learn_pages(log, lo, hi)
        if self.artwork_bandit is not None:
            self._learn_artwork(log, lo, hi)
        self.daily.append(day_stats)
        plays = log.plays()
        self.genre_plays = np.zeros_like(self.genre_plays)
        np.add.at(self.genre_plays, plays["member"], self.genre_matrix[plays["title"]])

    def _appeal(self, log: VisitLog, lo: int) -> float:
        """Mean, over the items examined from visit ``lo`` on, of how much more the best
        variant would have appealed to the member than the one shown (hidden appeal)."""
        visit = log.column("examined_visit").astype(np.int64)
        mine = visit >= lo
        if not mine.any():
            return float("nan")
        members = log.column("member").astype(np.int64)[visit[mine]]
        titles = log.column("examined_title").astype(np.int64)[mine]
        shown = log.column("examined_artwork").astype(np.int64)[mine]
        appeal = np.stack(
            [
                self.world.artwork_appeal_of(members, titles, np.full(len(titles), v))
                for v in range(self.world.n_artwork_variants)
            ],
            axis=1,
        )  # (E, variants)
        return float((appeal.max(axis=1) - appeal[np.arange(len(titles)), shown]).mean())

    def _learn_pages(self, log: VisitLog, lo: int, hi: int) -> float:
        """Update the explorer from the visits ``lo:hi``; the mean reward it learnt from."""
        contexts, chosen, propensities, features = self._pages.take()
        if len(chosen) != hi - lo:
            raise RuntimeError(f"{len(chosen)} page decisions for {hi - lo} logged visits")
        visit = log.column("examined_visit").astype(np.int64)
        slot = log.column("examined_slot").astype(np.int64)
        played = log.column("examined_played").astype(bool)
        fraction = log.column("watched_fraction")
        mine = (visit >= lo) & (slot < self.explore_slots)  # examined explorer slots
        v, s = visit[mine] - lo, slot[mine]
        actions = chosen[v, s]
        keep = actions >= 0  # the first day's slots were random, not the explorer's
        if not keep.any():
            return float("nan")
        v, s, actions = v[keep], s[keep], actions[keep]
        rewards = np.where(played[mine][keep], fraction[v + lo], 0.0)
        self.explorer.update(
            Feedback(
                contexts=contexts[v],
                actions=actions,
                rewards=rewards,
                propensities=propensities[v, s],
                action_features=features[v, s],
            )
        )
        self.updates += len(actions)
        return float(rewards.mean())

    def _learn_artwork(self, log: VisitLog, lo: int, hi: int) -> None:
        """One feedback row per visit: its variant, rewarded 1 when a title was played from
        the page (the variant moves the choice between the page and leaving)."""
        contexts, chosen, propensities, features = self._art.take()
        if len(chosen) != hi - lo:
            raise RuntimeError(f"{len(chosen)} artwork decisions for {hi - lo} logged visits")
        if not len(chosen):
            return
        title = log.column("played_title")[lo:hi]
        from_page = (title >= 0) & ~log.column("from_search")[lo:hi].astype(bool)
        self.artwork_bandit.update(
            Feedback(
                contexts=contexts,
                actions=chosen[:, 0],
                rewards=from_page.astype(np.float64),
                propensities=propensities[:, 0],
                action_features=features[:, 0],
            )
        )
        self.updates += len(chosen)


def _with_regret(
    rows: list[dict[str, object]], reference: list[dict[str, object]], metric: str
) -> list[dict[str, object]]:
    """``rows`` with ``regret``: the cumulative sum over days of ``reference``'s ``metric``
    minus the row's, day by day."""
    total = 0.0
    for row, ref in zip(rows, reference, strict=True):
        total += float(ref[metric]) - float(row[metric])
        row["regret"] = total
    return rows


def exploration(
    settings: Settings,
    explore: ExplorationSettings | None = None,
    *,
    policies: tuple[str, ...] = PAGE_POLICIES,
    arms: tuple[str, ...] = ARTWORK_ARMS,
) -> list[dict[str, object]]:
    """Both experiments of the module docstring: one row per (experiment, policy, day)
    with the daily metrics of :func:`run_policy` and the cumulative ``regret``."""
    explore = explore or ExplorationSettings()
    world = settings.world()
    nan = float("nan")
    shape = {"rows": settings.rows, "slots": settings.slots, "model": settings.model}
    out: list[dict[str, object]] = []

    def explorer_run(label: str, **kw: object) -> list[dict[str, object]]:
        made: list[ExplorationPolicy] = []

        def factory(runner: PopulationRunner) -> ExplorationPolicy:
            made.append(ExplorationPolicy(world, name=label, **shape, **kw))  # type: ignore[arg-type]
            return made[-1]

        rows = run_policy(label, world, settings, label=label, policy_factory=factory)
        return [{**r, **extra} for r, extra in zip(rows, made[0].daily, strict=True)]

    if policies:
        oracle = run_policy("oracle", world, settings)
        for name in policies:
            if name == "oracle":
                rows = [{**r, "explore_reward": nan, "artwork_gap": nan} for r in oracle]
            elif name == "greedy":
                rows = explorer_run("greedy")
            else:
                rows = explorer_run(
                    name,
                    explorer=explore.explorer(name),
                    explore_slots=explore.explore_slots,
                    n_candidates=explore.n_candidates,
                )
            out += [
                {"experiment": "pages", **r}
                for r in _with_regret([dict(r) for r in rows], oracle, "satisfaction")
            ]
    if arms:
        runs = {}
        for arm in dict.fromkeys(("oracle", *arms)):
            bandit = explore.artwork_bandit() if arm == "bandit" else None
            runs[arm] = explorer_run(f"artwork {arm}", artwork=arm, artwork_bandit=bandit)
        for arm in arms:
            rows = _with_regret([dict(r) for r in runs[arm]], runs["oracle"], "plays_per_visit")
            out += [{"experiment": "artwork", **r} for r in rows]
    return out
