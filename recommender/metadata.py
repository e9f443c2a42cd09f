"""Title metadata: what a model can know about a title before anyone has watched it.

Collaborative models learn a title only from its plays, so a title added today is invisible
to them. Genres, maturity rating, release year, synopsis and the date it entered the
catalogue are known from day one; the SASRec model's item tower embeds them so a new title
can rank well at once (the cold-start half of the Netflix lesson in ``features.py``).

The CSV form has the header ``item_id,genres,year,text`` plus optional ``maturity`` and
``added_at`` columns, in any order; genres are separated by ``|``; ``year`` and
``added_at`` may be blank; ``added_at`` is unix seconds or ISO-8601.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recommender.data import (
    CsvRows,
    InteractionsFileError,
    _as_str_array,
    _parse_header,
    _parse_time,
)

METADATA_REQUIRED = ("item_id", "genres", "year", "text")
METADATA_OPTIONAL = ("maturity", "added_at", "runtime", "series", "episode")
METADATA_HINT = "item_id,genres,year,text[,maturity][,added_at][,runtime][,series][,episode]"
GENRE_SEPARATOR = "|"


class ItemMetadataFileError(InteractionsFileError):
    """A CSV of title metadata that cannot be read; names file, line and column.

    A subclass of :class:`InteractionsFileError`, so a CLI catching that catches both.
    """


@dataclass(frozen=True, eq=False)
class ItemMetadata:
    """Validated per-title metadata, column-oriented (every field has one entry per title).

    Build with :meth:`from_records` or :meth:`from_csv`; item ids are unique.
    """

    item_ids: np.ndarray
    """(M,) object array of str, unique."""
    genres: tuple[tuple[str, ...], ...]
    """Per title, its genres (lower-cased, stripped, may be empty)."""
    maturity: tuple[str, ...]
    """Per title, its maturity rating ("" when unknown)."""
    year: np.ndarray
    """(M,) float64 release year, ``nan`` when unknown."""
    text: tuple[str, ...]
    """Per title, its synopsis ("" when none)."""
    added_at: np.ndarray
    """(M,) float64 unix seconds the title entered the catalogue, ``nan`` when unknown."""
    runtime: np.ndarray
    """(M,) float64 minutes (a film, or one episode), ``nan`` when unknown."""
    series: tuple[str, ...]
    """Per title, the name of the series it is an episode of ("" for none)."""
    episode: np.ndarray
    """(M,) float64 episode number within its series, ``nan`` for none."""

    def __post_init__(self) -> None:
        m = len(self.item_ids)
        if not isinstance(self.item_ids, np.ndarray) or self.item_ids.dtype != object:
            raise ValueError("ItemMetadata.item_ids must be an object array of str")
        for name in (
            "genres",
            "maturity",
            "year",
            "text",
            "added_at",
            "runtime",
            "series",
            "episode",
        ):
            if len(getattr(self, name)) != m:
                raise ValueError(
                    f"ItemMetadata columns differ in length: item_ids has {m}, "
                    f"{name} has {len(getattr(self, name))}"
                )
        for name in ("year", "added_at", "runtime", "episode"):
            array = getattr(self, name)
            if array.dtype != np.float64 or np.isinf(array).any():
                raise ValueError(f"ItemMetadata.{name} must be float64, finite or nan")
        ids, counts = np.unique(self.item_ids.astype(str), return_counts=True)
        if (counts > 1).any():
            raise ValueError(f"item_id {str(ids[counts > 1][0])!r} appears more than once")
        if any(not item for item in self.item_ids):
            raise ValueError("an item_id is empty")

    @classmethod
    def from_records(
        cls,
        item_ids: Iterable[object],
        *,
        genres: Iterable[Iterable[str] | str] | None = None,
        year: Iterable[float | None] | None = None,
        text: Iterable[str | None] | None = None,
        maturity: Iterable[str | None] | None = None,
        added_at: Iterable[float | None] | None = None,
        runtime: Iterable[float | None] | None = None,
        series: Iterable[str | None] | None = None,
        episode: Iterable[float | None] | None = None,
    ) -> ItemMetadata:
        """Build from parallel sequences; a missing column means unknown for every title.

        A genres entry is a list of names or one ``"a|b"`` string; ``None`` means unknown.
        """
        ids = _as_str_array(item_ids)
        m = len(ids)

        def column(values: Iterable | None, default: object) -> list:
            return [default] * m if values is None else list(values)

        genre_lists = tuple(_clean_genres(g) for g in column(genres, ()))
        years = np.array([math.nan if y is None else float(y) for y in column(year, None)])
        added = np.array([math.nan if a is None else float(a) for a in column(added_at, None)])

        def numbers(values: Iterable | None) -> np.ndarray:
            out = np.array([math.nan if v is None else float(v) for v in column(values, None)])
            return out.astype(np.float64).reshape(-1)

        return cls(
            item_ids=ids,
            genres=genre_lists,
            maturity=tuple("" if x is None else str(x).strip() for x in column(maturity, "")),
            year=years.astype(np.float64).reshape(-1),
            text=tuple("" if x is None else str(x) for x in column(text, "")),
            added_at=added.astype(np.float64).reshape(-1),
            runtime=numbers(runtime),
            series=tuple("" if x is None else str(x).strip() for x in column(series, "")),
            episode=numbers(episode),
        )

    @classmethod
    def from_csv(cls, path: str | Path) -> ItemMetadata:
        """Read ``item_id,genres,year,text[,maturity][,added_at][,runtime][,series][,episode]``
        (columns in any order; runtime in minutes, episode a number, blank for unknown).

        Raises :class:`ItemMetadataFileError` naming line and column for any bad cell.
        """
        path = Path(path)
        rows: dict[str, list] = {name: [] for name in METADATA_REQUIRED + METADATA_OPTIONAL}
        seen: dict[str, int] = {}
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = CsvRows(f, path, ItemMetadataFileError)
            header = next(reader, None)
            if header is None or not any(cell.strip() for cell in header):
                raise ItemMetadataFileError(
                    path, 1, None, f"file is empty; expected the header {METADATA_HINT}"
                )
            columns = _parse_header(
                path,
                [cell.strip() for cell in header],
                required=METADATA_REQUIRED,
                optional=METADATA_OPTIONAL,
                hint=METADATA_HINT,
                error=ItemMetadataFileError,
            )
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                line = reader.line_num
                if len(row) != len(columns):
                    raise ItemMetadataFileError(
                        path,
                        line,
                        None,
                        f"expected {len(columns)} fields ({','.join(columns)}), found {len(row)}",
                    )
                cells = {name: row[position] for name, position in columns.items()}
                item = cells["item_id"].strip()
                if not item:
                    raise ItemMetadataFileError(path, line, "item_id", "is empty")
                if item in seen:
                    raise ItemMetadataFileError(
                        path, line, "item_id", f"{item!r} already appeared on line {seen[item]}"
                    )
                seen[item] = line
                rows["item_id"].append(item)
                rows["genres"].append(cells["genres"])
                rows["year"].append(_parse_year(path, line, cells["year"]))
                rows["text"].append(cells["text"])
                rows["maturity"].append(cells.get("maturity", ""))
                added = cells.get("added_at", "").strip()
                rows["added_at"].append(_parse_added(path, line, added) if added else None)
                for name in ("runtime", "episode"):
                    rows[name].append(_parse_positive(path, line, name, cells.get(name, "")))
                rows["series"].append(cells.get("series", ""))
        if not rows["item_id"]:
            raise ItemMetadataFileError(path, 2, None, "no titles after the header")
        return cls.from_records(
            rows["item_id"],
            genres=rows["genres"],
            year=rows["year"],
            text=rows["text"],
            maturity=rows["maturity"],
            added_at=rows["added_at"],
            runtime=rows["runtime"],
            series=rows["series"],
            episode=rows["episode"],
        )

    def to_csv(self, path: str | Path) -> None:
        """Write a file :meth:`from_csv` reads back (blank for unknown year/added_at)."""
        with Path(path).open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow([*METADATA_REQUIRED, *METADATA_OPTIONAL])
            for i in range(len(self)):
                year, added = self.year[i], self.added_at[i]
                runtime, episode = self.runtime[i], self.episode[i]
                writer.writerow(
                    [
                        self.item_ids[i],
                        GENRE_SEPARATOR.join(self.genres[i]),
                        "" if math.isnan(year) else repr(float(year)),
                        self.text[i],
                        self.maturity[i],
                        "" if math.isnan(added) else repr(float(added)),
                        "" if math.isnan(runtime) else repr(float(runtime)),
                        self.series[i],
                        "" if math.isnan(episode) else repr(float(episode)),
                    ]
                )

    def __len__(self) -> int:
        return len(self.item_ids)

    def index(self) -> dict[str, int]:
        """Row of each item id."""
        return {str(item): row for row, item in enumerate(self.item_ids)}

    def select(self, rows: Sequence[int] | np.ndarray) -> ItemMetadata:
        """The titles at ``rows`` (positions), in that order."""
        rows = np.asarray(rows, np.int64)
        return ItemMetadata(
            item_ids=self.item_ids[rows],
            genres=tuple(self.genres[r] for r in rows),
            maturity=tuple(self.maturity[r] for r in rows),
            year=self.year[rows],
            text=tuple(self.text[r] for r in rows),
            added_at=self.added_at[rows],
            runtime=self.runtime[rows],
            series=tuple(self.series[r] for r in rows),
            episode=self.episode[rows],
        )

    def aligned(self, item_ids: Sequence[str]) -> ItemMetadata:
        """Metadata for exactly ``item_ids`` in that order; titles absent here are unknown."""
        where = self.index()
        rows = [where.get(str(item), -1) for item in item_ids]
        known = ItemMetadata.from_records(
            [str(i) for i in item_ids],
            genres=[self.genres[r] if r >= 0 else () for r in rows],
            year=[self.year[r] if r >= 0 else None for r in rows],
            text=[self.text[r] if r >= 0 else "" for r in rows],
            maturity=[self.maturity[r] if r >= 0 else "" for r in rows],
            added_at=[self.added_at[r] if r >= 0 else None for r in rows],
        )
        return known


def _clean_genres(value: Iterable[str] | str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    names = value.split(GENRE_SEPARATOR) if isinstance(value, str) else list(value)
    return tuple(g for g in (str(n).strip().lower() for n in names) if g)


def _parse_added(path: Path, line: int, cell: str) -> float:
    try:
        return _parse_time(path, line, cell, "added_at")
    except InteractionsFileError as error:  # re-raise as the metadata file's own error type
        problem = str(error).rpartition(": ")[2]
        raise ItemMetadataFileError(path, line, "added_at", problem) from None


def _parse_positive(path: Path, line: int, column: str, cell: str) -> float | None:
    """A positive finite number (runtime minutes, episode number), or None for a blank."""
    text = cell.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ItemMetadataFileError(path, line, column, f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise ItemMetadataFileError(path, line, column, f"{text!r} must be a positive number")
    return value


def _parse_year(path: Path, line: int, cell: str) -> float | None:
    text = cell.strip()
    if not text:
        return None
    try:
        year = float(text)
    except ValueError:
        raise ItemMetadataFileError(path, line, "year", f"{text!r} is not a number") from None
    if not (math.isfinite(year) and 1800 <= year <= 2200):
        raise ItemMetadataFileError(
            path, line, "year", f"{text!r} is not a plausible year (1800-2200)"
        )
    return year
