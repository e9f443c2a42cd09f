"""Members: an account (a Django user) holds up to five viewing profiles, each with its own
My List."""

from django.conf import settings
from django.db import models

MAX_MEMBERS_PER_ACCOUNT = 5
MAX_MY_LIST = 200
"""Most titles a profile's My List holds: a list is for picking from, not a second catalogue."""


class Member(models.Model):
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="members",
        help_text="Empty once the profile is deleted: the row stays because the append-only "
        "fact log refers to it, but no account can reach it any more.",
    )
    name = models.CharField(max_length=60)
    is_kids = models.BooleanField(default=False, help_text="Kids profiles see only kids titles.")
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "name"], name="member_name_unique_in_account"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.account or 'deleted'})"


class MyListEntry(models.Model):
    """A title a member saved to watch later. Not a fact: the member edits the list."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="my_list")
    title = models.ForeignKey("catalog.Title", on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-added_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["member", "title"], name="my_list_title_once")
        ]

    def __str__(self) -> str:
        return f"title {self.title_id} on member {self.member_id}'s list"
