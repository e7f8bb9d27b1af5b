"""Role-based access control: roles, their permissions (API scopes) and users' permissions.

``services`` changes them, ``selectors`` reads them; the token endpoint applies them through
``apps.oauth.grants.user_tokens.rbac_apply``.
"""
