"""The sample resource server under ``/sample/`` (``config/urls.py`` mounts it)."""

from django.urls import path

from apps.timesheets.views import TimesheetViewSet

app_name = "timesheets"

urlpatterns = [
    path(
        "timesheets/",
        TimesheetViewSet.as_view({"get": "list", "post": "create"}),
        name="timesheet-list",
    ),
    # <str:pk>, not <int:pk>: a non-numeric id then gets the API's JSON 404, not Django's HTML one.
    path(
        "timesheets/<str:pk>/",
        TimesheetViewSet.as_view({"get": "retrieve", "delete": "destroy"}),
        name="timesheet-detail",
    ),
    path(
        "timesheets/<str:pk>/approve",
        TimesheetViewSet.as_view({"post": "approve"}),
        name="timesheet-approve",
    ),
]
