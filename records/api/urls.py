from rest_framework.routers import SimpleRouter

from records.kinds import RecordKind, kind_plural

from .views import RECORD_VIEWSETS, RecordLinkViewSet, RecordViewSet

router = SimpleRouter()
for kind in RecordKind.values:
    router.register(kind_plural(kind).lower(), RECORD_VIEWSETS[kind], basename=kind)
router.register("records", RecordViewSet, basename="record")
router.register("record-links", RecordLinkViewSet, basename="recordlink")

urlpatterns = router.urls
