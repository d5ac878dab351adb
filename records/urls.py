from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("workspaces/", views.workspace_list, name="workspace_list"),
    path("workspaces/<int:workspace_id>/", views.workspace_detail, name="workspace_detail"),
    path("workspaces/<int:workspace_id>/new/<str:kind>/", views.record_new, name="record_new"),
    path("records/<int:record_id>/", views.record_detail, name="record_detail"),
    path("records/<int:record_id>/edit/", views.record_edit, name="record_edit"),
    path("records/<int:record_id>/delete/", views.record_delete_view, name="record_delete"),
    path("records/<int:record_id>/links/", views.record_link_add, name="record_link_add"),
    path(
        "records/<int:record_id>/link-targets/",
        views.record_link_targets,
        name="record_link_targets",
    ),
    path(
        "records/<int:record_id>/links/<int:link_id>/remove/",
        views.record_link_remove,
        name="record_link_remove",
    ),
]
