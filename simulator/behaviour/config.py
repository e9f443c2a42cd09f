"""The parameters of member behaviour: one frozen dataclass, an off switch for each mechanism."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BehaviourConfig:
    """Parameters of member behaviour; the defaults are what env, runner and client use.

    Every mechanism has an off switch, named in its field's docstring.
    """

    position_bias: bool = True
    """Examination falls with row and column; False: every slot equally likely, random order."""
    row_decay: float = 0.7
    """Examination factor per row down the page: row r contributes row_decay**r (1: off)."""
    col_decay: float = 0.85
    """Examination factor per position to the right: column c contributes col_decay**c (1: off)."""
    mean_patience: float = 10.0
    """Mean items examined per visit; budget 1 + Poisson(mean x member patience - 1) (inf: off)."""
    abandon_utility: float = -1.0
    """A title perceived below this utility may make the member give up on the page."""
    abandon_probability: float = 0.15
    """Chance of giving up after examining such a title (0: off)."""
    popularity_weight: float = 0.3
    """Weight of log(n_titles * popularity) in utility: social proof, a herd effect (0: off)."""
    artwork_weight: float = 0.5
    """Weight of the title's hidden artwork appeal in *perceived* utility only (0: off)."""
    artwork_taste: float = 0.6
    """Weight, in *perceived* utility only, of how the shown artwork variant appeals to the
    member: their hidden preference for its style plus the variant's own appeal (0: off, the
    variant shown does not matter)."""
    row_title_weight: float = 0.3
    """Perceived-utility bonus of titles in a personal row such as Top Picks (0: off)."""
    outside_utility: float = 3.0
    """Utility of leaving without playing; higher means pickier members."""
    choice_noise: float = 1.0
    """Scale of the Gumbel noise on utilities (and on the outside option)."""
    watch_midpoint: float = 3.0
    """Utility at which a play is, on average, watched half-way."""
    watch_slope: float = 1.2
    """Steepness of the watched fraction in utility."""
    watch_noise: float = 0.8
    """Standard deviation of logit noise on the watched fraction."""
    thumb_up_utility: float = 4.0
    """A played title at or above this utility may get a thumb up."""
    thumb_down_utility: float = -1.5
    """An examined title at or below this utility may get a thumb down."""
    thumb_probability: float = 0.1
    """Chance of giving a thumb when the utility condition holds (0: off)."""
    search_probability: float = 0.3
    """Chance that a member who played nothing from the page searches (0: off)."""
    search_recall: int = 30
    """Titles a searching member recalls (popularity-weighted); they look up the best one."""
    satiation: float = 1.0
    """Utility lost per play of the same title among the member's recent plays (0: off)."""
    satiation_memory: int = 20
    """How many recent plays satiation remembers."""
    drift_rate: float = 0.05
    """How far a taste turns toward a watched title's attributes per full watch (0: off)."""
    satisfaction_rate: float = 0.3
    """Weight of the latest visit in the moving average of satisfaction."""
    initial_satisfaction: float = 0.5
    """Satisfaction of a member before any visit."""
    churn_threshold: float = 0.25
    """Average satisfaction below which a member may leave the service."""
    churn_rate: float = 0.03
    """Churn hazard per visit at zero satisfaction, falling linearly to 0 at the threshold
    (0: off)."""
    activity_scale: float = 1.0
    """Multiplier on every member's visits per day (e.g. to make real-time traffic visible).
    It compresses time: the churn hazard per visit is divided by it, so retention per
    simulated day does not depend on it."""
    weekly_habits: bool = True
    """Members visit more at weekends (their hidden weekend factor); False: every day alike."""
    daypart_taste: float = 1.0
    """Strength of the hidden daypart and weekend taste offsets mixed into a member's taste by
    the visit's hour and weekday (0: off, tastes ignore the clock)."""
    daypart_sharpness: float = 2.0
    """Concentration of the cyclic daypart weights: 0 mixes all dayparts equally at every
    hour, larger values switch more abruptly from one daypart to the next (it also sets how
    the daypart shifts the device members visit from)."""
    device_taste: float = 1.0
    """Weight of the title's hidden affinity for the visit's device (short titles on phones,
    long films on the TV), times the member's device sensitivity (0: off)."""
    return_popularity: float = 0.6
    """Extra weight of centred log popularity in the utility of a member coming back after an
    absence, times ``1 - exp(-days away / return_days)``: after a long gap members want the
    well-known titles (0: off)."""
    return_days: float = 3.0
    """Time scale, in days, of the return effect (about 63% of it after this many days)."""
    series_pull: float = 2.0
    """Utility bonus of the next episode of a show the member is in the middle of: an
    episode among their last ``satiation_memory`` plays whose next episode is not (0: off)."""
    context_strength: float = 1.0
    """One knob on every effect of context the platform can observe: the daypart and weekend
    tastes, the device, the time since the last visit and a series in progress are each
    multiplied by it (0: what members choose does not depend on context at all; 2: twice the
    default effects). Visit times and devices are drawn the same whatever its value."""

    def __post_init__(self) -> None:
        for name in ("row_decay", "col_decay"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {value}")
        if not self.mean_patience >= 1:
            raise ValueError(
                f"mean_patience must be at least 1 (inf: off), got {self.mean_patience}"
            )
        if self.choice_noise <= 0:
            raise ValueError(f"choice_noise must be positive, got {self.choice_noise}")
        if self.activity_scale <= 0:
            raise ValueError(f"activity_scale must be positive, got {self.activity_scale}")
        if not self.return_days > 0:
            raise ValueError(f"return_days must be positive, got {self.return_days}")
        for name in (
            "thumb_probability",
            "search_probability",
            "abandon_probability",
            "satisfaction_rate",
            "churn_rate",
            "initial_satisfaction",
            "churn_threshold",
        ):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        for name in (
            "satiation",
            "drift_rate",
            "artwork_weight",
            "artwork_taste",
            "watch_noise",
            "daypart_taste",
            "daypart_sharpness",
            "device_taste",
            "return_popularity",
            "series_pull",
            "context_strength",
        ):
            value = getattr(self, name)
            if not value >= 0:
                raise ValueError(f"{name} must be at least 0, got {value}")
        for name in ("search_recall", "satiation_memory"):
            value = getattr(self, name)
            if not (isinstance(value, int | np.integer) and value >= 1):
                raise ValueError(f"{name} must be a whole number at least 1, got {value!r}")

    @classmethod
    def all_off(cls, **overrides: object) -> BehaviourConfig:
        """Every optional mechanism switched off (the walking skeleton's member, minus the
        position bias): a baseline to switch mechanisms back on one at a time. Each context
        mechanism is off by its own switch (``context_strength`` stays 1), so turning one
        back on needs only its own parameter."""
        off = {
            "position_bias": False,
            "mean_patience": math.inf,
            "abandon_probability": 0.0,
            "popularity_weight": 0.0,
            "artwork_weight": 0.0,
            "artwork_taste": 0.0,
            "row_title_weight": 0.0,
            "thumb_probability": 0.0,
            "search_probability": 0.0,
            "satiation": 0.0,
            "drift_rate": 0.0,
            "churn_rate": 0.0,
            "weekly_habits": False,
            "daypart_taste": 0.0,
            "device_taste": 0.0,
            "return_popularity": 0.0,
            "series_pull": 0.0,
        }
        return cls(**{**off, **overrides})  # type: ignore[arg-type]
