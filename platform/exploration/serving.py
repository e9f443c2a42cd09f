"""The explorers a page is served with: each enabled use's policy, at its newest state.

Every page asks once (`explorers_current`, one query: the configs, each with the id of its
use's newest BanditState; none while a stamp of the configs and states, which the homepage
reads with the other serving stamps in one query, is unchanged). A process keeps the policy it built for a (config, state) pair
and rebuilds it only when either changed, so a new state saved by an update, or a config
edited in the admin, serves from the next page on without a restart.

A state saved under another config of its use (the policy or its parameters changed since)
is not loaded: the new config serves from a fresh policy until an update saves its first
state.
"""

import logging
import threading
from dataclasses import dataclass

from django.db import connection
from django.db.models import OuterRef, Subquery

from . import bandit
from .models import BanditState, ExplorerConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Explorer:
    """One use's policy as it serves now."""

    use: str
    config: ExplorerConfig
    policy: bandit.Policy
    state: BanditState | None  # the state loaded into `policy`; None: a fresh policy

    @property
    def state_id(self) -> int | None:
        return self.state.pk if self.state is not None else None

    @property
    def version(self) -> int:
        """The state's version (0: a fresh policy, no update yet)."""
        return self.state.version if self.state is not None else 0

    @property
    def label(self) -> str:
        """The policy as logged: its name and state version."""
        return f"{self.policy.name}@v{self.version}"


_lock = threading.Lock()
_built: dict[str, tuple[tuple, Explorer]] = {}
_current: tuple[tuple, dict[str, Explorer]] | None = None  # (stamp, explorers_current's answer)


def reset_cache() -> None:
    global _current
    with _lock:
        _built.clear()
        _arms.clear()
        _current = None


def explorers_stamp_sql() -> tuple[str, int]:
    """A query of one row that changes whenever what `explorers_current` answers may (the
    configs' number and newest save, the states' number and newest id: states are only
    added), and its number of columns."""
    quote = connection.ops.quote_name
    configs = quote(ExplorerConfig._meta.db_table)
    states = quote(BanditState._meta.db_table)
    return (
        f"SELECT COUNT(*), MAX({quote('updated_at')}), (SELECT COUNT(*) FROM {states}), "
        f"(SELECT MAX({quote('id')}) FROM {states}) FROM {configs}",
        4,
    )


def explorers_current(*, stamp: tuple | None = None) -> dict[str, Explorer]:
    """The enabled uses' explorers, by use. One query when nothing changed; none with the
    `stamp` (`explorers_stamp_sql`, read by the caller) this process answered last. Callers
    must not change the dict."""
    global _current
    if stamp is not None:
        with _lock:
            if _current is not None and _current[0] == stamp:
                return _current[1]
    explorers = _explorers_read()
    if stamp is not None:
        with _lock:
            _current = (stamp, explorers)
    return explorers


def _explorers_read() -> dict[str, Explorer]:
    newest = BanditState.objects.filter(use=OuterRef("use")).order_by("-id").values("id")[:1]
    configs = ExplorerConfig.objects.filter(enabled=True).annotate(newest=Subquery(newest))
    explorers = {}
    for config in configs:
        key = (config.pk, config.updated_at, config.newest)
        with _lock:
            cached = _built.get(config.use)
        if cached is not None and cached[0] == key:
            explorers[config.use] = cached[1]
            continue
        try:
            explorer = _build(config)
        except bandit.ExplorerConfigError as exc:  # saved before a library change refused it
            logger.error("Explorer %s is not served: %s", config.use, exc)
            continue
        with _lock:
            _built[config.use] = (key, explorer)
        explorers[config.use] = explorer
    return explorers


_arms: dict[tuple, Explorer] = {}


def explorer_for_arm(
    *, use: str, spec: dict, key: tuple, production: Explorer | None
) -> Explorer | None:
    """The explorer an online experiment's arm serves on `use` (rollouts): its own policy
    (`spec`: policy, rate, floor, positions, params, checked when the arm was created),
    starting from the use's newest state when that state was learned under the same policy
    and config (`production`'s), else fresh. Built once per process per `key` (the arm and
    that state); None (logged) for a spec the library refuses now: production serves."""
    state = production.state if production is not None else None
    key = (*key, state.pk if state is not None else None)
    with _lock:
        cached = _arms.get(key)
    if cached is not None:
        return cached
    config = ExplorerConfig(use=use, enabled=True, **spec)
    try:
        policy = bandit.config_check(config)
    except bandit.ExplorerConfigError as exc:
        logger.error("An experiment's %s explorer is not served: %s", use, exc)
        return None
    loaded = None
    if (
        state is not None
        and state.policy == policy.name
        and state.config == _jsonable(policy.config)
    ):
        bandit.state_load(policy, state.state)
        loaded = state
    explorer = Explorer(use, config, policy, loaded)
    with _lock:
        _arms[key] = explorer
    return explorer


def _build(config: ExplorerConfig) -> Explorer:
    policy = bandit.config_check(config)
    state = None
    if config.newest is not None:
        newest = BanditState.objects.get(pk=config.newest)
        if newest.policy == policy.name and newest.config == _jsonable(policy.config):
            bandit.state_load(policy, newest.state)
            state = newest
    return Explorer(config.use, config, policy, state)


def _jsonable(config: dict) -> dict:
    """A config as a JSONField gives it back (tuples become lists)."""
    import json

    return json.loads(json.dumps(config))
