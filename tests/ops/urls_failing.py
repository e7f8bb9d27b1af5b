"""A URLconf whose views fail, for the log tests (``settings.ROOT_URLCONF``)."""

from django.core.exceptions import PermissionDenied
from django.urls import path

FAILURE_MESSAGE = "failing on purpose"


def failing_view(request):
    raise RuntimeError(FAILURE_MESSAGE)


def forbidden_view(request):
    raise PermissionDenied  # Django logs "Forbidden (Permission denied): ..." while handling it


urlpatterns = [path("fail", failing_view), path("forbidden", forbidden_view)]
