from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and access"

    def ready(self) -> None:
        # After the admin's autodiscover (django.contrib.admin is the first app): every
        # ModelAdmin that is not account-scoped becomes superuser-only.
        from .admin_scoping import restrict_unscoped_admins

        restrict_unscoped_admins()
