"""A synthetic world: a catalogue of titles and the members who watch them, generated from a seed.

The world has two halves. The *public* half (titles with their metadata, accounts with their
profiles) is what a streaming service would know; it is written to ``catalog.json`` and
``members.json`` and is all the platform ever sees. The *hidden* half (each title's attribute
vector and popularity prior, each member's taste vector, activity and daily habits) is what only
the members themselves "know"; it lives in ``hidden.npz`` and drives :mod:`simulator.behaviour`.

Generative story, in order:

1. Thirteen genre directions are orthonormal vectors in an ``ATTRIBUTE_DIM``-dimensional space;
   the remaining dimensions are aspects of a title (tone, pace, ...) that no genre label shows.
2. A title draws one to three "true" genres, and its hidden attributes are the sum of their
   directions plus noise, with extra spread in the unlabelled dimensions. Its *published* genres
   are read back from the attributes (projection above a threshold), so they are informative but
   incomplete: a label is sometimes missing or spurious, and the unlabelled dimensions never show.
3. Maturity rating, kind, runtime, dates, name and synopsis follow from the published genres.
4. Members belong to taste clusters. A cluster favours two or three genres; a member's taste is
   the cluster's centre plus individual noise, so tastes are genre-correlated (learnable) but
   personal. Kids profiles belong to a kids cluster (Animation, Family, ...).
5. Activity (visits per day) is power-law distributed: a few members visit a lot. Members also
   have weekly habits (more visits at the weekend, kids most of all) and a patience of their
   own (how much of a page they look at), both hidden.
6. Each title has a hidden artwork appeal: how tempting its artwork is, whatever its content.
   It raises the chance of a click, never the enjoyment (presentation bias).
7. The catalogue churns: ``added_at`` spreads titles over the two years before ``now``, about
   10% in the last 30 days. A simulation that runs up to ``now`` sees those titles arrive
   during the run (the platform lists a title only from its ``added_at`` on), so new titles
   with no history (cold start) are part of every simulated month.
8. Tastes move with the clock. Each member has a hidden offset to their taste for each
   daypart (``DAYPARTS``: morning, afternoon, evening, night) and for the weekend: a shared
   tilt (documentaries in the morning, cartoons and family films in the afternoon, light
   comedy and romance in the evening, horror and thrillers at night, long dramas and
   adventures at the weekend), scaled per member, plus a personal part. Behaviour mixes them
   in by the visit's time (``BehaviourConfig.daypart_taste``), so the hour and the weekday
   carry signal about *what* a member watches, not only when they visit.
9. Members visit from a device (``DEVICES``: tv, phone, tablet, desktop), drawn per visit
   from a hidden device mix of their own that the daypart shifts (phones on the commute,
   the TV in the evening). Each title has a hidden affinity per device, correlated with its
   runtime and content (short titles on phones, long films on the TV), so what is played
   depends on the device (``BehaviourConfig.device_taste``; :mod:`simulator.world.context`).
10. Titles of kind ``series`` are episodes of shows: an episode after the first takes its
    show's content, and its name, ``series`` and ``episode`` fields say which show and which
    episode it is, so a platform can tell what comes next. A member in the middle of a show
    wants the next episode (``BehaviourConfig.series_pull``).
11. Every title has several artwork variants (``N_ARTWORK_VARIANTS`` = 4 by default), the
    same styles for every title (``ARTWORK_STYLES``: a close-up, the ensemble, an action
    scene, the title card; public, in ``catalog.json``). A member's hidden preference for
    a style follows their taste (romance fans like faces, action fans a scene), plus a part
    of their taste cluster's own and a personal part; each title's variants also have a
    small appeal of their own. The variant shown adds to the
    *perceived* utility only (``BehaviourConfig.artwork_taste``): presentation bias that is
    personal, so choosing the variant per member raises plays (the streaming-artwork
    result) without making anyone enjoy the title more.

Observable metadata is informative but incomplete: published genres are read back from the
hidden attributes (a label is sometimes missing or spurious), and the synopsis names a few
tone keywords (``"dark"``, ``"fast-paced"``, ...) only when a title sits far out on one of the
unlabelled axes.

The package, one job a module: :mod:`~simulator.world.records` (the public records),
:mod:`~simulator.world.words` (the word lists names and synopses are drawn from),
:mod:`~simulator.world.generation` (the story above, in code; steps 9 and 10 in
:mod:`~simulator.world.context`), :mod:`~simulator.world.world`
(the :class:`World` with its files) and :mod:`~simulator.world.cli` (the command line).

Usage::

    python -m simulator.world --out var/world --titles 300 --members 60 --seed 0
"""

from simulator.clock import format_time, parse_time
from simulator.world.cli import main
from simulator.world.context import DEVICE_TILTS, DEVICES, next_episodes
from simulator.world.generation import (
    ARTWORK_STYLES,
    ATTRIBUTE_DIM,
    CATALOG_SPAN_DAYS,
    DAYPART_HOURS,
    DAYPARTS,
    KIDS_CLUSTER,
    N_ARTWORK_VARIANTS,
    N_CLUSTERS,
    N_TASTE_OFFSETS,
    RECENT_DAYS,
    RECENT_SHARE,
    rng_normal,
    tone_keywords,
)
from simulator.world.records import (
    GENRE_INDEX,
    GENRES,
    KIDS_RATINGS,
    KINDS,
    MATURITY_RATINGS,
    Account,
    Member,
    Title,
)
from simulator.world.words import TONE_WORDS
from simulator.world.world import HIDDEN_FORMAT, World

__all__ = [
    "ARTWORK_STYLES",
    "ATTRIBUTE_DIM",
    "CATALOG_SPAN_DAYS",
    "DAYPARTS",
    "DAYPART_HOURS",
    "DEVICES",
    "DEVICE_TILTS",
    "GENRES",
    "GENRE_INDEX",
    "HIDDEN_FORMAT",
    "KIDS_CLUSTER",
    "KIDS_RATINGS",
    "KINDS",
    "MATURITY_RATINGS",
    "N_ARTWORK_VARIANTS",
    "N_CLUSTERS",
    "N_TASTE_OFFSETS",
    "RECENT_DAYS",
    "RECENT_SHARE",
    "TONE_WORDS",
    "Account",
    "Member",
    "Title",
    "World",
    "format_time",
    "main",
    "next_episodes",
    "parse_time",
    "rng_normal",
    "tone_keywords",
]
