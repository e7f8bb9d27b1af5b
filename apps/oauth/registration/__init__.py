"""RFC 7591 dynamic client registration at ``/t/<tenant>/oidc/register`` (Auth0's "Dynamic
Application Registration"): open registration, off unless the tenant enables it."""
