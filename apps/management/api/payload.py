"""Reading Management API request bodies as strictly as Auth0's JSON-schema validation does.

Auth0 validates every body against a JSON schema: a property it does not know is refused
(``Payload validation error: 'Additional properties not allowed: foo'``), and a value of the
wrong JSON type is refused rather than coerced (``"true"`` is not a boolean, ``"60"`` is not an
integer). DRF's fields coerce by default, so the fields here do not. Errors become 400
``invalid_body`` in Auth0's shape through ``management_exception_handler``.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.management.api.errors import bad_request

MSG_ADDITIONAL_PROPERTIES = "Payload validation error: 'Additional properties not allowed: {names}'."
MSG_NOT_AN_OBJECT = "Payload validation error: 'Expected type object but found type {found}'."
MSG_EMPTY_PATCH = "Payload validation error: 'Too few properties defined (0), minimum 1'."
MSG_EXPECTED_TYPE = "Expected type {type}."


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean, nothing else."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            raise serializers.ValidationError(MSG_EXPECTED_TYPE.format(type="boolean"))
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer (not a string, not a boolean, not a fraction)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise serializers.ValidationError(MSG_EXPECTED_TYPE.format(type="integer"))
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A JSON string (DRF would turn a number into one)."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError(MSG_EXPECTED_TYPE.format(type="string"))
        return super().to_internal_value(data)


def string_list(*, max_length: int = 2000, **kwargs) -> serializers.ListField:
    return serializers.ListField(
        child=StrictCharField(max_length=max_length, allow_blank=False, trim_whitespace=False),
        max_length=100,
        **kwargs,
    )


class StrictSerializer(serializers.Serializer):
    """A serializer that refuses a body that is not a JSON object, and properties it does not declare."""

    def to_internal_value(self, data: Any) -> dict:
        if not isinstance(data, dict):
            raise bad_request(MSG_NOT_AN_OBJECT.format(found=_json_type(data)))
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise bad_request(MSG_ADDITIONAL_PROPERTIES.format(names=", ".join(unknown)))
        return super().to_internal_value(data)


def validated(serializer_class: type[serializers.Serializer], data: Any, **kwargs) -> dict:
    """``data`` checked by ``serializer_class`` (a 400 in Auth0's shape otherwise)."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def validated_body(serializer_class: type[StrictSerializer], request) -> dict:
    """The request's JSON body checked by ``serializer_class``, every property optional (the view
    says which are required, as Auth0's schemas do); for a PATCH at least one property."""
    data = validated(serializer_class, request.data, partial=True)
    if request.method == "PATCH" and not data:
        raise bad_request(MSG_EMPTY_PATCH)
    return data
