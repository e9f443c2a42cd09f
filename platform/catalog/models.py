"""Titles and genres: what the service has to offer."""

from django.db import models

KIDS_RATINGS = ("all", "7+")


class Genre(models.Model):
    name = models.CharField(max_length=40, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Title(models.Model):
    class Kind(models.TextChoices):
        MOVIE = "movie", "Movie"
        SERIES = "series", "Series"

    class Maturity(models.TextChoices):
        ALL = "all", "All ages"
        SEVEN = "7+", "7+"
        THIRTEEN = "13+", "13+"
        SIXTEEN = "16+", "16+"
        EIGHTEEN = "18+", "18+"

    external_id = models.CharField(
        max_length=64, unique=True, help_text="Id of the title in the source catalogue."
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    genres = models.ManyToManyField(Genre, related_name="titles", blank=True)
    maturity_rating = models.CharField(max_length=4, choices=Maturity.choices)
    runtime_minutes = models.PositiveIntegerField(help_text="Movie length, or episode length.")
    release_date = models.DateField()
    synopsis = models.TextField(blank=True)
    added_at = models.DateTimeField(help_text="When the title entered this catalogue.")
    updated_at = models.DateTimeField(
        auto_now=True, help_text="Last change; serving reloads its catalogue snapshot after it."
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["added_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(runtime_minutes__gt=0), name="title_runtime_positive"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def kids_suitable(self) -> bool:
        return self.maturity_rating in KIDS_RATINGS


class CatalogStamp(models.Model):
    """One row the database itself moves on every write to titles, genres or their links
    (triggers of migration 0003: statement-level on PostgreSQL, row-level on SQLite), so
    serving checks that its catalogue snapshot is current by reading one row, not by
    counting the catalogue on every page (3 ms of database CPU a page at 5,000 titles;
    docs/benchmarks.md, "Load"). Catches what Django's signals would not: `.update()`, raw
    SQL, a relink of genres without a save. The application never writes it."""

    changes = models.BigIntegerField(default=0)
    changed_at = models.CharField(
        max_length=40, blank=True, help_text="The database's clock at the last change."
    )

    def __str__(self) -> str:
        return f"catalogue change {self.changes} at {self.changed_at}"
