from tests.resource_kit.deny_list_support import fake_clock
from tests.resource_kit.support import _fresh_jwks_cache, resource_server

__all__ = ["_fresh_jwks_cache", "fake_clock", "resource_server"]
