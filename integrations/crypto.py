"""Secrets at rest: Jira API tokens, personal access tokens and webhook secrets.

Encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under keys from ``APP_ENCRYPTION_KEYS``
(comma-separated; the first encrypts, every one decrypts, so keys can be rotated). In DEBUG
with no key set, a key is derived from SECRET_KEY so the demo works with no configuration.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    keys = list(settings.FIELD_ENCRYPTION_KEYS)
    if not keys:
        if not settings.DEBUG:
            raise ImproperlyConfigured(
                "APP_ENCRYPTION_KEYS must be set. Generate a key with: python -c 'from "
                "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            )
        digest = hashlib.sha256(("field-encryption:" + settings.SECRET_KEY).encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "APP_ENCRYPTION_KEYS holds a key that is not a valid Fernet key (32 url-safe "
            "base64-encoded bytes)."
        ) from exc


def encrypt(plaintext: str) -> str:
    if not plaintext:
        return ""
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    if not ciphertext:
        return ""
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with APP_ENCRYPTION_KEYS: was the key changed "
            "without keeping the old one in the list?"
        ) from exc
