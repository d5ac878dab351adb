from django.urls import reverse

from accounts.models import ApiKey
from accounts.services import api_key_create, hash_api_key
from tests.factories import make_user


def test_login_page_logs_in_and_lands_on_the_first_workspace(client, owner, workspace):
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b'name="csrfmiddlewaretoken"' in page.content
    response = client.post(
        reverse("login"), {"username": "owner", "password": "pw-Secret-123"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("workspace_detail", args=[workspace.pk])
    assert b"App" in response.content


def test_wrong_password_says_so_and_keeps_the_username(client, owner):
    response = client.post(reverse("login"), {"username": "owner", "password": "nope"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Please enter a correct username and password" in html
    assert 'value="owner"' in html


def test_logout_is_a_post(client, owner):
    client.force_login(owner)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("api_keys")).status_code == 302


def test_create_api_key_shows_the_raw_key_once(client, owner):
    client.force_login(owner)
    response = client.post(reverse("api_keys"), {"name": "CI"})
    assert response.status_code == 201
    raw = response.context["raw_key"]
    key = ApiKey.objects.get(user=owner)
    assert key.key_hash == hash_api_key(raw)
    assert raw in response.content.decode()
    assert "will not be shown again" in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    listing = client.get(reverse("api_keys")).content.decode()
    assert "CI" in listing
    assert key.prefix in listing
    assert raw not in listing


def test_create_api_key_without_name_says_what_to_do(client, owner):
    client.force_login(owner)
    response = client.post(reverse("api_keys"), {"name": "  "})
    assert response.status_code == 400
    assert response.context["form"].errors["name"]
    assert not ApiKey.objects.exists()


def test_revoke_api_key(client, owner):
    client.force_login(owner)
    key, _ = api_key_create(user=owner, name="Old script")
    response = client.post(reverse("api_key_revoke", args=[key.pk]), follow=True)
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert "Revoked “Old script”" in response.content.decode()


def test_only_your_own_keys_are_listed_or_revocable(client, owner):
    someone = make_user("someone")
    theirs, _ = api_key_create(user=someone, name="Their key")
    client.force_login(owner)
    assert "Their key" not in client.get(reverse("api_keys")).content.decode()
    assert client.post(reverse("api_key_revoke", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
