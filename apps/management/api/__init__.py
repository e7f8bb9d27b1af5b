"""The Management API v2 (Auth0's paths, shapes and semantics) under ``/t/<tenant>/api/v2/``."""
