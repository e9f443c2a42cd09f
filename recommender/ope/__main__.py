"""``python -m recommender.ope``: see :mod:`recommender.ope.cli`."""

import sys

from recommender.ope.cli import main

if __name__ == "__main__":
    sys.exit(main())
