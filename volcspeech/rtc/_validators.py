"""attrs validators and converters of the RTC models.

Every message names the model, the field and its wire name and states the
allowed values; text fields that may hold secrets are described by type only,
never quoted.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any, Callable, NoReturn, Optional, TypeVar

import attrs

from ..errors import ValidationError
from ._enums import ID_HELP, ID_RE, S3Region, Vendor
from ._wire import WIRE, owner

__all__: list[str] = []

E = TypeVar("E", bound=enum.IntEnum)
Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]

_SHOWN_CHARS = 60


def show(value: object) -> str:
    """A short repr of a (non-secret) value for a message."""
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def fail(owner_name: str, name: str, wire_name: str, problem: str) -> NoReturn:
    """Raise the ValidationError of one field: ``Owner.field (Wire) problem``."""
    raise ValidationError(f"{owner_name}.{name} ({wire_name}) {problem}", field=name)


def field_of(instance: object, attribute: attrs.Attribute[Any]) -> tuple[str, str, str]:
    """``(owner, field name, wire name)`` of an attribute of a model instance."""
    return owner(type(instance)), attribute.name, str(attribute.metadata.get(WIRE, attribute.name))


def check_id(owner_name: str, name: str, wire_name: str, value: object, *, required: bool) -> None:
    """An id: a string matching :data:`ID_PATTERN`."""
    if value is None:
        if required:
            fail(owner_name, name, wire_name, f"is required: a string matching {ID_HELP}")
        return
    if not isinstance(value, str):
        fail(owner_name, name, wire_name, f"must be a string, got {type(value).__name__}")
    if not ID_RE.fullmatch(value):
        fail(owner_name, name, wire_name, f"must match {ID_HELP}, got {show(value)}")


def an_id(*, required: bool) -> Validator:
    """Validator: an id field (see :func:`check_id`)."""

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        check_id(*field_of(instance, attribute), value, required=required)

    return check


def a_text(*, required: bool) -> Validator:
    """Validator: a non-empty string; messages give the type only (these may be secrets)."""

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        where = field_of(instance, attribute)
        if value is None:
            if required:
                fail(*where, "is required: a non-empty string")
            return
        if not isinstance(value, str):
            fail(*where, f"must be a string, got {type(value).__name__}")
        if not value.strip():
            fail(*where, "must be a non-empty string")

    return check


def check_int(
    where: tuple[str, str, str], value: object, lo: int, hi: Optional[int] = None
) -> None:
    """An optional integer in ``[lo, hi]`` (bool refused)."""
    if value is None:
        return
    allowed = f"an integer in [{lo}, {hi}]" if hi is not None else f"an integer >= {lo}"
    if isinstance(value, bool) or not isinstance(value, int):
        fail(*where, f"must be {allowed}, got {type(value).__name__}")
    if value < lo or (hi is not None and value > hi):
        fail(*where, f"must be {allowed}, got {value}")


def an_int(lo: int, hi: Optional[int] = None) -> Validator:
    """Validator: an optional integer in ``[lo, hi]``."""

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        check_int(field_of(instance, attribute), value, lo, hi)

    return check


def a_bool(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validator: an optional bool."""
    if value is not None and not isinstance(value, bool):
        fail(*field_of(instance, attribute), f"must be true or false, got {type(value).__name__}")


def member_of(enum_cls: type[E], allowed: Iterable[E] | None = None) -> Validator:
    """Validator: ``None`` or a member of ``allowed`` (every member by default).

    Pair it with :func:`to_member`, which turns a valid int into its member first.
    """
    members = tuple(allowed if allowed is not None else enum_cls)
    choices = ", ".join(f"{int(m)} ({m.name})" for m in members)

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int):
            fail(
                *field_of(instance, attribute),
                f"must be one of {choices}, got {type(value).__name__}",
            )
        if not isinstance(value, enum_cls) or value not in members:
            fail(*field_of(instance, attribute), f"must be one of {choices}, got {int(value)}")

    return check


def _member_or_value(enum_cls: type[E] | None, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        return value  # the validator names the wrong type
    if enum_cls is None:
        return int(value)
    try:
        return enum_cls(value)
    except ValueError:  # not a member: the validator refuses it, or a region passes as given
        return int(value)


def as_member(enum_cls: type[E] | None, value: Any) -> Any:
    """Converter body: an int that is a member of ``enum_cls`` becomes that member.

    Any other int stays a plain int (a region newer than the table passes as
    given; an enum's validator refuses it with the allowed values); a non-int
    is left for the validator to name its type. With ``enum_cls`` ``None``
    every int becomes a plain int.
    """
    return _member_or_value(enum_cls, value)


def region_for_vendor(value: Any, instance: Any) -> Any:
    """Converter (takes self): Amazon S3 region numbers become :class:`S3Region` members."""
    s3 = instance.vendor in (None, Vendor.AMAZON_S3)
    return _member_or_value(S3Region if s3 else None, value)


a_region = an_int(0)
