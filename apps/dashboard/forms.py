"""Form fields the admin forms share."""

from __future__ import annotations

from typing import Any

from django import forms


def _split(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    return [str(item) for item in value]


class _WordListField(forms.CharField):
    """A list of words (URLs, scopes) edited as text, joined by ``joiner``; cleans to ``list[str]``.

    Comparing lists rather than text means re-saving an unchanged form (the browser sends
    CRLF line ends) is not reported as a change, so no empty audit event is written.
    """

    joiner = " "
    default_help_text = ""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", self.default_help_text)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> str:
        return self.joiner.join(_split(value))

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        return _split(value)

    def has_changed(self, initial: Any, data: Any) -> bool:
        return _split(initial) != self.to_python(data)


class UriListField(_WordListField):
    """A list of URLs, one per line (stored space-separated by DOT)."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 80})
    joiner = "\n"
    default_help_text = "One per line."


class ScopeListField(_WordListField):
    """Scopes as the ``scope`` parameter writes them, space-separated."""

    default_help_text = "Space-separated, e.g. read:things write:things."


class IpListField(_WordListField):
    """IP addresses and CIDR ranges, one per line (commas also separate); the service validates them."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 40})
    joiner = "\n"
    default_help_text = "IP addresses or CIDR ranges (203.0.113.7, 10.0.0.0/8, 2001:db8::/32), one per line."

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        return _split(value.replace(",", " ") if isinstance(value, str) else value)
