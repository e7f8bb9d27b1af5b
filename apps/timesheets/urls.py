"""The sample resource server and the sample web app under ``/sample/`` (``config/urls.py`` mounts it)."""

from django.urls import path

from apps.timesheets.views import TimesheetViewSet
from apps.timesheets.webapp import views as webapp

app_name = "timesheets"

urlpatterns = [
    # The sample web app: a relying party that signs users in through the demo tenant.
    path("", webapp.home, name="sample-home"),
    path("login", webapp.login, name="sample-login"),
    path("callback", webapp.callback, name="sample-callback"),
    path("refresh", webapp.refresh, name="sample-refresh"),
    path("logout", webapp.logout, name="sample-logout"),
    path("style.css", webapp.stylesheet, name="sample-stylesheet"),
    # The Timesheets API, which the web app (or anyone holding a token) calls over HTTP.
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
