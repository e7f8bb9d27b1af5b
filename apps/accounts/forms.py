"""Forms of the end-user sign-in pages. They only parse input; the rules live in services."""

from __future__ import annotations

from django import forms


class LoginForm(forms.Form):
    """Email and password; ``next`` travels along in a hidden field and is checked by the view."""

    username = forms.CharField(
        label="Email",
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "inputmode": "email", "autofocus": True}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class MfaCodeForm(forms.Form):
    """A 6-digit code from the authenticator app (or, at the sign-in step, a recovery code)."""

    code = forms.CharField(
        label="Code",
        max_length=64,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "spellcheck": "false",
            }
        ),
    )
