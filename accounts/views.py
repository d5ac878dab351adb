"""Sign-in pages and the user's settings (API keys)."""

from __future__ import annotations

import math
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from core.exceptions import ApplicationError, NotFoundError

from .forms import ApiKeyCreateForm
from .services import api_key_create, api_key_revoke


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


def login_locked_out(request: HttpRequest, original_response=None, credentials=None):
    """django-axes' answer to a sign-in while the username or client address is locked out:
    the login page, 429, saying when to try again."""
    cool_off: timedelta = settings.AXES_COOLOFF_TIME
    minutes = max(1, math.ceil(cool_off.total_seconds() / 60))
    # Unbound: validating the posted form would try the password again.
    form = AuthenticationForm(request, initial={"username": request.POST.get("username", "")})
    lockout = (
        f"Too many failed sign-ins for this username or from your network. Sign-in is "
        f"locked: try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )
    response = render(
        request,
        "registration/login.html",
        {"form": form, "lockout": lockout, "next": request.POST.get("next", "")},
        status=429,
    )
    response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response


class LogoutView(auth_views.LogoutView):
    """POST only (Django's rule): a link cannot sign anybody out behind their back."""


def _api_keys_page(request, form, *, new_key=None, raw_key=None, status=200):
    keys = request.user.api_keys.order_by("revoked_at", "-created_at")
    return render(
        request,
        "accounts/api_keys.html",
        {"keys": keys, "form": form, "new_key": new_key, "raw_key": raw_key},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest) -> HttpResponse:
    """List the user's keys; POST creates one and shows its secret on this response only."""
    if request.method == "POST":
        form = ApiKeyCreateForm(request.POST)
        if form.is_valid():
            try:
                key, raw = api_key_create(user=request.user, name=form.cleaned_data["name"])
            except ApplicationError as exc:
                form.add_error("name" if "name" in exc.fields else None, exc.message)
            else:
                # Rendered, not redirected: the raw key must never be stored, even in a session.
                response = _api_keys_page(
                    request, ApiKeyCreateForm(), new_key=key, raw_key=raw, status=201
                )
                response["Cache-Control"] = "no-store"
                return response
        return _api_keys_page(request, form, status=400)
    return _api_keys_page(request, ApiKeyCreateForm())


@login_required
@require_POST
def api_key_revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    try:
        key = api_key_revoke(user=request.user, key_id=key_id)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    messages.success(request, f"Revoked “{key.name}”. Requests using it are now refused.")
    return redirect("api_keys")
