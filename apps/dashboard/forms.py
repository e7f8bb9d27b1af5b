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


class UriListField(forms.CharField):
    """A list of URLs, one per line (stored space-separated by DOT); cleans to ``list[str]``.

    Comparing lists rather than text means re-saving an unchanged form (the browser sends
    CRLF line ends) is not reported as a change, so no empty audit event is written.
    """

    widget = forms.Textarea(attrs={"rows": 3, "cols": 80})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "One per line.")
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> str:
        return "\n".join(_split(value))

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        return _split(value)

    def has_changed(self, initial: Any, data: Any) -> bool:
        return _split(initial) != self.to_python(data)
