from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # After the admin's autodiscover (django.contrib.admin is the first app): every
        # ModelAdmin that is not account-scoped becomes superuser-only.
        from .admin import restrict_unscoped_admins

        restrict_unscoped_admins()
