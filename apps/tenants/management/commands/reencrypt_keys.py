"""``manage.py reencrypt_keys``: every encrypted value under the first KEY_ENCRYPTION_KEYS key.

Operator procedure (README, Configuration): prepend a new key to ``KEY_ENCRYPTION_KEYS`` on
every process and restart them; run this; when it reports nothing undecryptable, drop the
old key and restart again.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.tenants.services import encrypted_values_reencrypt

MSG_UNDECRYPTABLE = (
    "{count} value(s) could not be decrypted with any KEY_ENCRYPTION_KEYS key: {where}. "
    "Put back the key they were encrypted with (do not drop it) and run this again."
)


class Command(BaseCommand):
    help = (
        "Re-encrypt signing private keys and HS256 API secrets under the first KEY_ENCRYPTION_KEYS key. "
        "Idempotent: values already under it are left alone."
    )

    def handle(self, *args, **options) -> None:
        counts = encrypted_values_reencrypt()
        for count in counts:
            self.stdout.write(
                f"{count.column}: {count.reencrypted} re-encrypted, {count.unchanged} already under "
                f"the first key, {len(count.undecryptable)} undecryptable"
            )
        failed = [count for count in counts if count.undecryptable]
        if failed:
            where = "; ".join(
                f"{count.column} pk {', '.join(map(str, count.undecryptable))}" for count in failed
            )
            raise CommandError(
                MSG_UNDECRYPTABLE.format(count=sum(len(count.undecryptable) for count in failed), where=where)
            )
