"""How members react to homepages: the one source of truth for the env, the runner and the client.

Everything a member does with a page is computed by one vectorized function,
:func:`respond_batch`, for a batch of visits at once. The single-member paths (the Gymnasium
env, the HTTP client, :func:`respond`) call it with a batch of one, so the fast population
runner and the slow, faithful paths cannot drift apart. When members visit is likewise one
schedule for all of them (:mod:`simulator.behaviour.schedule`).

A visit, in order (each step is a stage function of :mod:`simulator.behaviour.respond` with
the same number, and has a named parameter in :class:`BehaviourConfig` and an off switch,
listed in docs/simulator.md):

1. **Examination with two-dimensional position bias** (``examine``; Craswell et al. 2008's
   examination hypothesis; Joachims et al. 2005/2017 on position bias). The member scans the
   page row by row, left to right, and examines the item in row ``r``, column ``c`` with
   probability ``row_decay**r * col_decay**c``, independently per slot, until a patience
   budget (items examined this visit) runs out. Unexamined items are never seen, so the
   platform's logs are missing-not-at-random (Schnabel et al. 2016) and a title's click rate
   confounds quality with position. ``position_bias=False`` makes every slot equally likely
   to be seen, in random order: click rates become flat across positions.
2. **Abandonment** (``abandon``). After examining a title that looks bad (perceived utility
   below ``abandon_utility``) the member gives up on the page with probability
   ``abandon_probability``.
3. **Choice with an outside option** (``choose``). Each examined title has a true utility
   (taste . attributes + social proof ``popularity_weight * log(n_titles * popularity)``, minus
   satiation) and a *perceived* utility that adds presentation: artwork appeal, the row's
   title and the **artwork variant** shown, which appeals to each member differently (their
   hidden preference for its style plus the variant's own appeal, times ``artwork_taste``;
   the variant defaults to 0), so presentation bias is personal. The member picks the largest perceived utility + Gumbel noise among the examined
   titles and an outside option ("leave without playing"): a multinomial logit.
   Kids profiles never pick a title that is not kids-suitable (they still examine it).
4. **Search** (``search``). A member who played nothing from the page searches with
   probability ``search_probability``: they recall ``search_recall`` titles they have heard
   of (weighted by popularity) and look up the one they want most. Search finds what the
   member wanted, not what was shown, so it is the path that escapes the recommender's
   feedback loop.
5. **Watching** (``watch``). A play yields a watched fraction
   ``sigmoid(watch_slope * (u - watch_midpoint) + noise)`` of the *true* utility: tempting
   artwork earns the click, not the watch time, so plays are a noisy proxy of satisfaction.
6. **Thumbs** (``give_thumbs``). Rare and extreme: a played title with very high utility may
   get a thumb up; an examined title with very low utility may get a thumb down.

Utility depends on the clock (**daypart tastes**): a member's effective taste at a visit is
their taste plus ``daypart_taste`` x a mix of their hidden daypart offsets (morning,
afternoon, evening, night; :data:`simulator.world.DAYPARTS`), weighted smoothly by the visit's
hour of day (:func:`daypart_weights`), plus their weekend offset on Saturdays and Sundays. So
the same member wants documentaries at breakfast and comedy after dinner: the hour and the
weekday carry signal about *what* is played, which only a model with time features can use.
Times are unix seconds read in UTC, the world's clock and the recommender's.

Utility depends on more context a platform observes: the **device** of the visit (drawn
from the member's device mix at that hour, :meth:`Population.draw_devices`; a title's hidden
device affinity, ``device_taste``), the **time since the member's last visit** (after a long
gap the well-known titles, ``return_popularity``) and a **series in progress** (the next
episode of a show among the recent plays, ``series_pull``). ``context_strength`` multiplies
every context effect, the daypart tastes included: 0 makes choices context-free.

Member state (:class:`Population`, in :mod:`simulator.behaviour.members`) then moves:

- **Satiation**: a title played recently loses ``satiation`` utility per play in the member's
  last ``satiation_memory`` plays.
- **Interest drift** toward what was watched: the taste vector turns by ``drift_rate`` x
  watched fraction toward the title's attributes (its length kept). This is the mechanism by
  which a recommender trained on its own exposures homogenizes what people watch (Chaney,
  Stewart and Engelhardt 2018).
- **Satisfaction and churn**: each visit's true satisfaction (the expected watched fraction of
  the play, 0 without one) enters an exponential moving average; when it falls below
  ``churn_threshold`` the member leaves the service for good with a hazard up to
  ``churn_rate`` per visit. Retention is the long-term outcome a policy should be judged on.

The package, one job a module: :mod:`~simulator.behaviour.config` (the parameters),
:mod:`~simulator.behaviour.outcome` (what a visit did), :mod:`~simulator.behaviour.respond`
(the stages above), :mod:`~simulator.behaviour.members` (member state) and
:mod:`~simulator.behaviour.schedule` (when members visit).
"""

from simulator.behaviour.config import BehaviourConfig
from simulator.behaviour.members import (
    Behaviour,
    Population,
    VisitContext,
    daypart_weights,
    device_index,
)
from simulator.behaviour.outcome import BatchOutcome, Slot, VisitOutcome, to_visit_outcome
from simulator.behaviour.respond import (
    PERSONAL_ROW_PREFIXES,
    ArtworkFn,
    MaskFn,
    UtilityFn,
    examination_probabilities,
    respond,
    respond_batch,
    row_bonuses,
)
from simulator.behaviour.schedule import day_visit_hours, day_visits

__all__ = [
    "PERSONAL_ROW_PREFIXES",
    "ArtworkFn",
    "BatchOutcome",
    "Behaviour",
    "BehaviourConfig",
    "MaskFn",
    "Population",
    "Slot",
    "UtilityFn",
    "VisitContext",
    "VisitOutcome",
    "daypart_weights",
    "device_index",
    "day_visit_hours",
    "day_visits",
    "examination_probabilities",
    "respond",
    "respond_batch",
    "row_bonuses",
    "to_visit_outcome",
]
