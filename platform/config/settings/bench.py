"""Load benchmarks (scripts/bench_load.py): the local settings plus the bench-only URL conf.

The bare endpoint that a benchmark compares the homepage with lives in `config.urls_bench`,
which only this settings module routes: the production settings (and local, test) use
`config.urls`, so no deployment exposes it, whatever its flags.
"""

from .local import *  # noqa: F403

ROOT_URLCONF = "config.urls_bench"
