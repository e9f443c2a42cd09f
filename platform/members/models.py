"""Members: an account (a Django user) holds up to five viewing profiles."""

from django.conf import settings
from django.db import models

MAX_MEMBERS_PER_ACCOUNT = 5


class Member(models.Model):
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="members"
    )
    name = models.CharField(max_length=60)
    is_kids = models.BooleanField(default=False, help_text="Kids profiles see only kids titles.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "name"], name="member_name_unique_in_account"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.account})"
