"""Reads of the explorer: configs, update runs and states."""

from .models import BanditState, ExplorerConfig, UpdateRun, Use


def explorer_config_list() -> list[ExplorerConfig | None]:
    """Every use's config, in Use order; a use never configured is an unsaved, disabled row."""
    saved = {c.use: c for c in ExplorerConfig.objects.all()}
    return [saved.get(use) or ExplorerConfig(use=use, policy="") for use in Use.values]


def explorer_config_get(*, use: str) -> ExplorerConfig | None:
    if use not in Use.values:
        return None
    return ExplorerConfig.objects.filter(use=use).first() or ExplorerConfig(use=use, policy="")


def update_run_get(*, run_id: int) -> UpdateRun | None:
    return UpdateRun.objects.prefetch_related("states").filter(pk=run_id).first()


def bandit_state_newest(*, use: str) -> BanditState | None:
    return BanditState.objects.filter(use=use).order_by("-id").first()
