"""Argument types shared by the simulator's command lines: errors name the bad value."""

import argparse
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from simulator.clock import parse_time


def number(kind: type, *, minimum: float, inclusive: bool = True) -> Callable[[str], Any]:
    """An argparse type: `kind` (int or float) at least (or above) `minimum`."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if value < minimum or (not inclusive and value == minimum):
            bound = f"at least {minimum}" if inclusive else f"greater than {minimum}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text!r}")
        return value

    return parse


def iso_time(text: str) -> datetime:
    """An argparse type: an ISO 8601 time (UTC when no offset is given)."""
    try:
        return parse_time(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 time like 2026-11-20T19:30:00Z, got {text!r}"
        ) from None
