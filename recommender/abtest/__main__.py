"""``python -m recommender.abtest``: see :mod:`recommender.abtest.cli`."""

import sys

from recommender.abtest.cli import main

if __name__ == "__main__":
    sys.exit(main())
