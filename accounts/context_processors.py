from .selectors import workspace_list_for_user


def navigation(request):
    """Workspaces for the top navigation, lazily: templates that don't show it cost no query."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"nav_workspaces": workspace_list_for_user(user=user).order_by("name")}
