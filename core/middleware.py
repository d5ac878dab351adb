"""Request-wide rules that hold before any view: no NUL characters in the address, and every
error under ``/api/`` answered as JSON (Django's own 404 for a path no route matches, such as
a non-integer id, its 405s, CSRF 403s and 500 pages included)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

from .api_errors import error_body

API_PREFIX = "/api/"

_GENERIC = {
    400: ("bad_request", "The request is not valid."),
    401: ("not_authenticated", "Sign in, or send an API key: Authorization: Bearer <key>."),
    403: ("permission_denied", "You do not have permission to do this."),
    404: (
        "not_found",
        "Not found: no API operation or object has this address. Check the path (ids are "
        "whole numbers) against /api/docs/.",
    ),
    405: ("method_not_allowed", "This method is not allowed on this address."),
    413: ("too_large", "The request body is too large."),
}
_SERVER_ERROR = (
    "server_error",
    "Something went wrong on the server; it is logged. Try again, and report it if it lasts.",
)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


class RefuseNulCharactersMiddleware:
    """A NUL character in the path or a query parameter (``?q=%00``) reaches no database
    query: PostgreSQL refuses it (a 500), so it is a clear 400 here, for the API and pages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = ""
        if "\x00" in request.path:
            where = "the address"
        else:
            for name, values in request.GET.lists():
                if "\x00" in name or any("\x00" in value for value in values):
                    where = f"the query parameter '{name.replace(chr(0), '')}'"
                    break
        if not where:
            return self.get_response(request)
        message = f"A NUL character (%00) in {where} is not allowed: remove it."
        if _is_api(request):
            return JsonResponse(error_body("invalid_characters", message), status=400)
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


class ApiErrorsAsJsonMiddleware:
    """An error answer under /api/ that is not JSON becomes the API's JSON error shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not _is_api(request)
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        status = response.status_code
        code, message = _GENERIC.get(status, _SERVER_ERROR if status >= 500 else ("error", ""))
        json_response = JsonResponse(
            error_body(code, message or f"The request failed (HTTP {status})."), status=status
        )
        for header in ("Allow", "WWW-Authenticate", "Retry-After"):
            if header in response:
                json_response[header] = response[header]
        return json_response
