from tests.resource_kit.support import _fresh_jwks_cache, resource_server

__all__ = ["_fresh_jwks_cache", "resource_server"]
