"""The sample Timesheets API, protected only by the resource-server kit.

Authentication and scopes come from the access token alone (JWKS-verified, offline):
nothing here reads Portcullis's tables, exactly as an API running elsewhere would work.
"""

from __future__ import annotations

from http import HTTPStatus

from django.db.models import QuerySet
from django.urls import reverse
from rest_framework import mixins, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from apps.resource_kit.views import ResourceServerMixin
from apps.timesheets import services
from apps.timesheets.authentication import TimesheetsTokenAuthentication
from apps.timesheets.models import Timesheet
from apps.timesheets.scopes import TimesheetScope
from apps.timesheets.selectors import timesheets_visible_to
from apps.timesheets.serializers import TimesheetSerializer


class TimesheetViewSet(
    ResourceServerMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """``/sample/timesheets/``: list, create, read, delete and approve timesheets."""

    authentication_classes = [TimesheetsTokenAuthentication]
    serializer_class = TimesheetSerializer
    required_scopes = {
        "list": TimesheetScope.READ,
        "retrieve": TimesheetScope.READ,
        "create": TimesheetScope.CREATE,
        "destroy": TimesheetScope.DELETE,
        "approve": TimesheetScope.APPROVE,
    }

    def get_queryset(self) -> QuerySet[Timesheet]:
        # Rows the caller may not see answer 404, like rows that do not exist.
        return timesheets_visible_to(user=self.request.user)

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        timesheet = services.timesheet_create(owner_sub=request.user.sub, **serializer.validated_data)
        location = request.build_absolute_uri(reverse("timesheets:timesheet-detail", args=[timesheet.pk]))
        return Response(
            self.get_serializer(timesheet).data, status=HTTPStatus.CREATED, headers={"Location": location}
        )

    def destroy(self, request: Request, pk: str) -> Response:
        services.timesheet_delete(timesheet=self.get_object())
        return Response(status=HTTPStatus.NO_CONTENT)

    def approve(self, request: Request, pk: str) -> Response:
        timesheet = services.timesheet_approve(timesheet=self.get_object(), approver_sub=request.user.sub)
        return Response(self.get_serializer(timesheet).data)
