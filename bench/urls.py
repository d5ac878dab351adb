from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def noop(request):
    """The floor: Django's request cycle on the same server, doing nothing."""
    return JsonResponse({"status": "ok"}, status=202)


urlpatterns = [
    path("bench/noop/", noop),
    path("", include("mappings_site.urls")),
]
