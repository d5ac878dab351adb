"""Bench settings: the real ones, plus a no-op view to compare the webhook intake with."""

from mappings_site.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
