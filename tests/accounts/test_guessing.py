"""Guessing: sign-ins are locked out per username and per client address (django-axes), failed
API keys are throttled per address, keys cannot manage keys, and a key whose user has no
account left stops working."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiKey, Membership
from accounts.services import api_key_create
from tests.factories import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "pw-Secret-123"


def _sign_in(client, username, password, address="203.0.113.7"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def test_a_username_is_locked_out_after_the_limit_and_told_when_to_try_again(settings, owner):
    settings.AXES_FAILURE_LIMIT = 5
    client = Client()
    for n in range(5):
        # From a new address each time: the username alone triggers the lockout.
        response = _sign_in(client, "owner", "wrong", address=f"198.51.100.{n}")
        assert response.status_code == 200 if n < 4 else 429
    locked = _sign_in(client, "owner", PASSWORD, address="198.51.100.99")
    assert locked.status_code == 429
    assert locked["Retry-After"] == str(15 * 60)
    page = locked.content.decode()
    assert "try again in 15 minutes" in page
    assert "_auth_user_id" not in client.session  # the right password did not sign in
    # Another user is not affected.
    make_user("bystander")
    assert _sign_in(Client(), "bystander", PASSWORD, address="198.51.100.98").status_code == 302


def test_a_client_address_is_locked_out_whatever_username_it_tries(settings, owner):
    settings.AXES_FAILURE_LIMIT = 5
    client = Client()
    for n in range(5):
        _sign_in(client, f"guess{n}", "wrong", address="203.0.113.50")
    response = _sign_in(client, "owner", PASSWORD, address="203.0.113.50")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # The same user from elsewhere still signs in.
    assert _sign_in(Client(), "owner", PASSWORD, address="203.0.113.51").status_code == 302


def test_a_forged_forwarded_for_header_does_not_dodge_the_address_lockout(settings, owner):
    settings.AXES_FAILURE_LIMIT = 3
    for n in range(3):
        Client().post(
            reverse("login"),
            {"username": f"guess{n}", "password": "wrong"},
            REMOTE_ADDR="203.0.113.60",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
        )
    response = Client().post(
        reverse("login"),
        {"username": "owner", "password": PASSWORD},
        REMOTE_ADDR="203.0.113.60",
        HTTP_X_FORWARDED_FOR="10.0.0.200",
    )
    assert response.status_code == 429


def _bearer(raw, address="203.0.113.9"):
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_failed_api_keys_are_throttled_per_address(settings, owner, account):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_key_failures": "5/min"},
    }
    from rest_framework.settings import api_settings

    from accounts.authentication import FailedApiKeyThrottle

    # The throttle reads its rates when its module loads; follow the changed setting.
    FailedApiKeyThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    try:
        _, raw = api_key_create(user=owner, name="real")
        statuses = [_bearer(f"rjs_guess{n}").get("/api/v1/me/").status_code for n in range(5)]
        assert statuses == [401] * 5
        refused = _bearer(raw).get("/api/v1/me/")
        assert refused.status_code == 429
        assert int(refused["Retry-After"]) > 0
        assert "Too many failed API-key attempts" in refused.json()["error"]["message"]
        # Another address is not affected; successes are never counted.
        for _ in range(10):
            assert _bearer(raw, address="203.0.113.10").get("/api/v1/me/").status_code == 200
    finally:
        FailedApiKeyThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES


def test_an_api_key_cannot_create_or_revoke_keys(owner, account):
    key, raw = api_key_create(user=owner, name="leaked")
    other, _ = api_key_create(user=owner, name="other")
    client = _bearer(raw)
    created = client.post("/api/v1/api-keys/", {"name": "successor"}, format="json")
    assert created.status_code == 403
    assert "Sign in" in created.json()["error"]["message"]
    assert client.delete(f"/api/v1/api-keys/{other.pk}/").status_code == 403
    assert client.post(f"/api/v1/api-keys/{key.pk}/revoke/").status_code == 403
    assert ApiKey.objects.filter(user=owner).count() == 2
    assert all(k.is_active for k in ApiKey.objects.filter(user=owner))
    assert client.get("/api/v1/api-keys/").status_code == 200  # listing is harmless
    session = APIClient()
    session.force_login(owner)
    assert session.post("/api/v1/api-keys/", {"name": "new"}, format="json").status_code == 201


def test_a_key_whose_user_has_no_membership_left_is_refused(owner, account):
    _, raw = api_key_create(user=owner, name="k")
    assert _bearer(raw).get("/api/v1/me/").status_code == 200
    Membership.objects.filter(user=owner).delete()
    response = _bearer(raw).get("/api/v1/me/")
    assert response.status_code == 401
    assert "no longer a member" in response.json()["error"]["message"]
