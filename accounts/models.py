"""Tenancy: an account holds workspaces (one per product) and members with a role each."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    CONTRIBUTOR = "contributor", "Contributor"
    VIEWER = "viewer", "Viewer"


# What each role may do is accounts.policy's to say (pages, API and admin all ask it).


class Account(models.Model):
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CONTRIBUTOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "user"], name="unique_membership")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.account} ({self.role})"

    @property
    def can_edit_records(self) -> bool:
        from .policy import Action, role_allows  # the policy reads this model

        return role_allows(self.role, Action.EDIT)

    @property
    def can_administer(self) -> bool:
        from .policy import Action, role_allows

        return role_allows(self.role, Action.ADMINISTER)


prefix_validator = RegexValidator(
    r"^[A-Z][A-Z0-9]{1,9}$",
    "A reference prefix is 2 to 10 capital letters or digits, starting with a letter (e.g. APP).",
)


class Workspace(models.Model):
    """One product's roadmap. Record reference numbers are ``<prefix>-...`` and unique here."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="workspaces")
    name = models.CharField(max_length=200)
    prefix = models.CharField(max_length=10, validators=[prefix_validator])
    description = models.TextField(blank=True)
    # Counters for reference numbers; incremented under a row lock (see records.services).
    next_release_number = models.PositiveIntegerField(default=1)
    next_initiative_number = models.PositiveIntegerField(default=1)
    next_epic_number = models.PositiveIntegerField(default=1)
    next_feature_number = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "prefix"], name="unique_workspace_prefix")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"


class ApiKey(models.Model):
    """A per-user API key. Only a SHA-256 hash is stored; the key is shown once, at creation."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    # First characters of the key, shown in lists so a user can tell keys apart.
    prefix = models.CharField(max_length=16, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
