"""The Management API's routes under ``/t/<tenant>/api/v2/`` (Auth0's paths)."""

from __future__ import annotations

app_name = "management"

urlpatterns: list = []
