"""``manage.py revoke_key <tenant> <kid>``: withdraw a compromised signing key at once."""

from __future__ import annotations

from argparse import Action, ArgumentParser

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.tenants.management.commands.rotate_keys import tenant_or_error
from apps.tenants.services import signing_key_revoke


class Command(BaseCommand):
    help = (
        "Revoke a signing key (e.g. compromised): it leaves the JWKS at once and tokens it signed stop "
        "verifying. Revoking the current key promotes the published next key first."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs) -> ArgumentParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parse_args = parser.parse_args
        # A kid is an RFC 7638 thumbprint in base64url, so about one in 64 starts with '-', which argparse
        # would take for an unknown option ("the following arguments are required: kid"). Both the shell
        # and call_command() go through parse_args, so the positionals are put behind "--" there.
        parser.parse_args = lambda args=None, namespace=None: parse_args(  # type: ignore[method-assign]
            positionals_behind_double_dash(parser, args), namespace
        )
        return parser

    def add_arguments(self, parser) -> None:
        parser.add_argument("tenant", help="The tenant's slug (/t/<slug>/)")
        parser.add_argument("kid", help="The key's kid, as in the JWKS or the admin")

    def handle(self, *args, tenant: str, kid: str, **options) -> None:
        tenant_obj = tenant_or_error(tenant)
        try:
            revocation = signing_key_revoke(tenant=tenant_obj, kid=kid)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        line = f"{tenant} {revocation.algorithm}: revoked {kid} (was {revocation.state_before})"
        if revocation.promoted:
            line += f"; {revocation.promoted} now signs"
        if revocation.generated_next:
            line += f"; new next key {revocation.generated_next}"
        self.stdout.write(line)


def positionals_behind_double_dash(parser: ArgumentParser, args: list[str] | None) -> list[str] | None:
    """``args`` with the known options (and their values) first, then ``--``, then everything else in order."""
    if args is None:
        return None
    options: list[str] = []
    positionals: list[str] = []
    tokens = iter(args)
    for token in tokens:
        if token == "--":
            positionals.extend(tokens)
        elif (action := known_option(parser, token)) is None:
            positionals.append(token)
        else:
            options.append(token)
            value_attached = "=" in token or (not token.startswith("--") and len(token) > 2)
            if action.nargs != 0 and not value_attached and (value := next(tokens, None)) is not None:
                options.append(value)
    return [*options, "--", *positionals]


def known_option(parser: ArgumentParser, token: str) -> Action | None:
    """The parser's option ``token`` names (``-v``, ``-v2``, ``--settings=x``, ``--trace``), or None.

    argparse has no public table of its option strings; ``_option_string_actions`` is the one it reads.
    """
    actions: dict[str, Action] = parser._option_string_actions
    name = token.split("=", 1)[0]
    if name in actions:
        return actions[name]
    if token.startswith("--"):
        abbreviated = [action for option, action in actions.items() if option.startswith(name)]
        return abbreviated[0] if abbreviated else None
    if len(token) == 3 and token[:2] in actions:  # a short option with its value attached, as in -v2
        return actions[token[:2]]
    return None
