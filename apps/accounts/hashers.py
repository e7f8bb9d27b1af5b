"""How user passwords are stored: Argon2id with parameters we choose, not the library's defaults.

Listed first in ``settings.PASSWORD_HASHERS``, so every new password is hashed with it and
Django's ``check_password`` re-hashes any other stored hash (PBKDF2, scrypt, an Argon2 hash
with other parameters) on the next successful sign-in.
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher

# OWASP Password Storage Cheat Sheet, Argon2id: m=19 MiB, t=2, p=1 is the first of its
# equivalent minimum configurations. One hash costs ~19 MiB and tens of milliseconds on this
# machine: a sign-in can pay that, and several concurrent sign-ins per worker stay affordable
# (Django's default, 100 MiB at p=8, is five times the memory per concurrent sign-in).
ARGON2_MEMORY_COST_KIB = 19 * 1024
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1


class PortcullisArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id (Django's hasher always uses the ``id`` variety) at OWASP's parameters.

    The algorithm name stays ``argon2``: hashes it writes are ordinary Django Argon2 hashes,
    and Django's ``must_update`` compares their parameters with these, so changing a number
    here upgrades stored hashes at each user's next sign-in.
    """

    memory_cost = ARGON2_MEMORY_COST_KIB
    time_cost = ARGON2_TIME_COST
    parallelism = ARGON2_PARALLELISM
