"""The wire-serialization framework of the RTC models: one PascalCase name per field.

Each field that travels over the wire declares its name once, in its attrs
metadata (``attrs.field(metadata=wire("AccountId"))``). ``to_dict``,
``from_dict`` (the keys read and the allowed keys of strict reading) and the
validation messages all take it from there.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any, Callable, TypeVar

import attrs

from ..errors import ValidationError

__all__: list[str] = []

WIRE = "volcspeech.wire"
WIRE_READ = "volcspeech.wire_read"

#: Reads one nested wire value: ``(value, field path, strict) -> parsed``.
ReadHook = Callable[[object, str, bool], Any]

T = TypeVar("T")
M = TypeVar("M", bound="WireModel")


def wire(name: str, *, read: ReadHook | None = None) -> dict[str, Any]:
    """The attrs metadata of a field sent as ``name``; ``read`` parses a non-null value."""
    return {WIRE: name, WIRE_READ: read}


_FIELDS_CACHE: dict[type, tuple[tuple[attrs.Attribute[Any], str], ...]] = {}


def wire_fields(cls: type) -> tuple[tuple[attrs.Attribute[Any], str], ...]:
    """``(attribute, wire name)`` of ``cls``'s wire fields, in wire order.

    The wire order is the declaration order unless the class lists its field
    names in ``_WIRE_ORDER`` (the body order the vendor documents).
    """
    cached = _FIELDS_CACHE.get(cls)
    if cached is not None:
        return cached
    by_name = {a.name: a for a in attrs.fields(cls) if WIRE in a.metadata}
    order: Sequence[str] = getattr(cls, "_WIRE_ORDER", None) or tuple(by_name)
    assert sorted(order) == sorted(by_name), f"{cls.__name__}._WIRE_ORDER"
    result = tuple((by_name[n], str(by_name[n].metadata[WIRE])) for n in order)
    _FIELDS_CACHE[cls] = result
    return result


def owner(cls: type) -> str:
    """The model's name in messages (a user's subclass still reports the SDK's class)."""
    for klass in cls.__mro__:
        if klass.__module__.startswith("volcspeech.") and attrs.has(klass):
            return klass.__name__
    return cls.__name__  # pragma: no cover


def wire_of(cls: type, name: str) -> str:
    """The wire name of field ``name`` of model ``cls``."""
    return str(attrs.fields_dict(cls)[name].metadata[WIRE])


def where(obj: object, name: str) -> tuple[str, str, str]:
    """``(owner, field name, wire name)`` of a model or instance, for messages."""
    cls = obj if isinstance(obj, type) else type(obj)
    return owner(cls), name, wire_of(cls, name)


def _dump(value: object) -> Any:
    if isinstance(value, WireModel):
        return value.to_dict()
    if isinstance(value, enum.IntEnum):
        return int(value)
    if isinstance(value, tuple):
        return [_dump(item) for item in value]
    return value


class WireModel:
    """Generic ``to_dict`` / ``from_dict`` over the fields' wire metadata."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """The PascalCase object, unset (``None``) fields omitted."""
        out: dict[str, Any] = {}
        for attribute, name in wire_fields(type(self)):
            value = getattr(self, attribute.name)
            if value is not None:
                out[name] = _dump(value)
        return out

    @classmethod
    def from_dict(cls: type[M], data: Mapping[str, Any]) -> M:
        """Read the PascalCase object; raises :class:`ValidationError` on bad input."""
        return cls._read(data, "", True)

    @classmethod
    def _read(cls: type[M], data: object, path: str, strict: bool) -> M:
        name = owner(cls)
        fields = wire_fields(cls)
        r = Reader(name, data, path, strict=strict)
        kwargs: dict[str, Any] = {}
        for attribute, key in fields:
            value = r.get(key)
            read = attribute.metadata[WIRE_READ]
            if read is not None and value is not None:
                value = read(value, r.field_path(attribute.name), strict)
            kwargs[attribute.name] = value
        r.finish(tuple(key for _, key in fields))
        return build(name, path, lambda: cls(**kwargs))


class Reader:
    """Reads one JSON object for ``from_dict``: typed getters, unknown keys refused."""

    def __init__(self, owner: str, data: object, path: str, *, strict: bool) -> None:
        if not isinstance(data, Mapping):
            raise ValidationError(
                f"{path or owner} must be a JSON object, got {type(data).__name__}",
                field=path or None,
            )
        self.owner = owner
        self.data = data
        self.path = path
        self.strict = strict
        self.used: set[str] = set()

    def field_path(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def get(self, key: str) -> Any:
        self.used.add(key)
        return self.data.get(key)

    def finish(self, known: Sequence[str]) -> None:
        if not self.strict:
            return
        unknown = sorted(str(k) for k in self.data if k not in known)
        if unknown:
            place = self.path or self.owner
            raise ValidationError(
                f"{place} has unknown field(s) {', '.join(unknown)}; allowed: {', '.join(known)}",
                field=self.path or None,
            )


def build(cls_name: str, path: str, factory: Callable[[], T]) -> T:
    """Run a constructor, re-raising its ValidationError with the full dotted path."""
    try:
        return factory()
    except ValidationError as exc:
        if not path or exc.field is None:
            raise
        full = f"{path}.{exc.field}"
        raise ValidationError(f"{full}: {exc}", field=full) from None
    except TypeError as exc:  # a missing argument: name it without echoing values
        raise ValidationError(
            f"{path or cls_name}: cannot build {cls_name} ({type(exc).__name__})",
            field=path or None,
        ) from None
