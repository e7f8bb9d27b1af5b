"""Two services behind one logical API (Auth0's "Represent multiple APIs using a single logical API").

A calendar service and a contacts service, each its own DRF view protected by the resource-server
kit with its own settings dict. Both dicts name the same ``AUDIENCE``, the one logical API defined
in Portcullis; each view asks for its own scope. Served (with the project's URLs) by the test in
``test_logical_api.py`` through ``@pytest.mark.urls``.
"""

from __future__ import annotations

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.resource_kit.authentication import JWTAccessTokenAuthentication
from apps.resource_kit.permissions import HasScope
from apps.resource_kit.views import ResourceServerMixin
from config.urls import urlpatterns as project_urlpatterns

CALENDAR_PATH = "/services/calendar/events"
CONTACTS_PATH = "/services/contacts/people"


class CalendarTokenAuthentication(JWTAccessTokenAuthentication):
    settings_name = "CALENDAR_RESOURCE_SERVER"


class ContactsTokenAuthentication(JWTAccessTokenAuthentication):
    settings_name = "CONTACTS_RESOURCE_SERVER"


class CalendarEvents(ResourceServerMixin, APIView):
    authentication_classes = [CalendarTokenAuthentication]
    permission_classes = [HasScope("read:calendar")]

    def get(self, request):
        return Response({"service": "calendar", "caller": request.user.sub, "events": []})


class ContactsPeople(ResourceServerMixin, APIView):
    authentication_classes = [ContactsTokenAuthentication]
    permission_classes = [HasScope("read:contacts")]

    def get(self, request):
        return Response({"service": "contacts", "caller": request.user.sub, "people": []})


urlpatterns = [
    path(CALENDAR_PATH.lstrip("/"), CalendarEvents.as_view()),
    path(CONTACTS_PATH.lstrip("/"), ContactsPeople.as_view()),
    *project_urlpatterns,
]
