"""Request and response models of the RTC segmentation OpenAPI (version 2023-11-01).

Every model is an ``attrs`` frozen class with snake_case fields, validated on
construction (a :class:`~volcspeech.errors.ValidationError` names the field and
the allowed values, never a secret), serialized by ``to_dict()`` to the exact
PascalCase body the service expects (unset fields omitted) and read back by
``from_dict()``.

Sources: vendor doc 6348/1188212 (``StartSegment``), the vendor Go SDK
``service/rtc/v20231101/model.go`` (``UpdateSegment``, ``StopSegment``,
``GetSegmentTask``, the VOD and veImageX storage settings) and vendor doc
6348/1167931 (storage region numbers).

Two places where the vendor material disagrees with itself:

* ``Control``: the StartSegment request *example* nests it inside
  ``StorageConfig``; the parameter table and the Go SDK put it at the top level
  of the body. ``to_dict()`` puts it at the top level; ``from_dict()`` also
  accepts the nested form.
* ``RedundantDuration``: the table says milliseconds, but its worked example
  (``Duration`` 20, ``RedundantDuration`` 3 → files ``[0-20]``, ``[17-40]``,
  ``[37-60]``) reads like seconds. volcspeech documents it as milliseconds, as
  the table does, and sends the number exactly as given.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Callable, ClassVar, NoReturn, TypeVar, Union

import attrs

from ..errors import ValidationError

__all__ = [
    "ID_PATTERN",
    "CustomConfig",
    "S3Region",
    "SegmentControl",
    "SegmentTask",
    "SegmentTaskStatus",
    "StartSegmentRequest",
    "StopSegmentRequest",
    "StorageConfig",
    "StorageType",
    "Stream",
    "StreamType",
    "TargetStreams",
    "TosConfig",
    "TosRegion",
    "UpdateSegmentRequest",
    "Vendor",
    "VeImageXConfig",
    "VodConfig",
]

#: The documented rule for ``AppId``, ``BusinessId``, ``RoomId``, ``TaskId``,
#: ``Identifier`` and ``UserId``.
ID_PATTERN = r"[a-zA-Z0-9_@\-\.]{1,128}"
_ID_RE = re.compile(ID_PATTERN)
_ID_HELP = f"{ID_PATTERN} (letters, digits and _ @ - . ; 1 to 128 characters)"

#: ``MaxIdleTime`` range in seconds.
MAX_IDLE_TIME_RANGE = (1, 86400)
#: ``Duration`` range in seconds.
DURATION_RANGE = (1, 600)
#: At most this many streams in ``TargetStreams.StreamList``.
MAX_STREAMS = 17

_SHOWN_CHARS = 60


# --- enums ---------------------------------------------------------------------


class StorageType(enum.IntEnum):
    """``StorageConfig.Type``: where the files go. Segmentation takes TOS and CUSTOM only."""

    TOS = 0
    VOD = 1
    CUSTOM = 2
    VEIMAGEX = 3


class Vendor(enum.IntEnum):
    """``CustomConfig.Vendor``: the S3-compatible third-party store."""

    AMAZON_S3 = 0
    ALIYUN_OSS = 1
    HUAWEI_OBS = 2
    TENCENT_COS = 3
    QINIU_KODO = 4


class TosRegion(enum.IntEnum):
    """``TosConfig.Region`` numbers (vendor doc 6348/1167931)."""

    CN_BEIJING = 0
    CN_GUANGZHOU = 1
    CN_SHANGHAI = 2
    AP_SOUTHEAST_1 = 3


class S3Region(enum.IntEnum):
    """``CustomConfig.Region`` numbers for Amazon S3 (vendor doc 6348/1167931).

    Other vendors number their regions in their own tables; pass those as plain ints.
    """

    US_EAST_1 = 0
    US_EAST_2 = 1
    US_WEST_1 = 2
    US_WEST_2 = 3
    EU_WEST_1 = 4
    EU_WEST_2 = 5
    EU_WEST_3 = 6
    EU_CENTRAL_1 = 7
    AP_SOUTHEAST_1 = 8
    AP_SOUTHEAST_2 = 9
    AP_NORTHEAST_1 = 10
    AP_NORTHEAST_2 = 11
    SA_EAST_1 = 12
    CA_CENTRAL_1 = 13
    AP_SOUTH_1 = 14
    CN_NORTH_1 = 15
    CN_NORTHWEST_1 = 16
    US_GOV_EAST_1 = 17
    AP_EAST_1 = 18
    EU_SOUTH_1 = 19
    AP_NORTHEAST_3 = 20
    EU_NORTH_1 = 21
    ME_SOUTH_1 = 22
    US_GOV_WEST_1 = 23
    AF_SOUTH_1 = 24


class StreamType(enum.IntEnum):
    """``Stream.StreamType``: the user's normal stream or their screen share."""

    NORMAL = 0
    SCREEN = 1


class SegmentTaskStatus(enum.IntEnum):
    """``GetSegmentTask`` ``Status``."""

    UNKNOWN = 0
    NOT_STARTED = 1
    RUNNING = 2
    ENDED = 3
    FAILED = 4


# --- validation helpers --------------------------------------------------------

E = TypeVar("E", bound=enum.IntEnum)
T = TypeVar("T")


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def _fail(owner: str, name: str, wire: str, problem: str) -> NoReturn:
    raise ValidationError(f"{owner}.{name} ({wire}) {problem}", field=name)


def _check_id(owner: str, name: str, wire: str, value: object, *, required: bool) -> None:
    if value is None:
        if required:
            _fail(owner, name, wire, f"is required: a string matching {_ID_HELP}")
        return
    if not isinstance(value, str):
        _fail(owner, name, wire, f"must be a string, got {type(value).__name__}")
    if not _ID_RE.fullmatch(value):
        _fail(owner, name, wire, f"must match {_ID_HELP}, got {_show(value)}")


def _check_text(owner: str, name: str, wire: str, value: object, *, required: bool) -> None:
    # Messages name the field and the type only: these may be secrets.
    if value is None:
        if required:
            _fail(owner, name, wire, "is required: a non-empty string")
        return
    if not isinstance(value, str):
        _fail(owner, name, wire, f"must be a string, got {type(value).__name__}")
    if not value.strip():
        _fail(owner, name, wire, "must be a non-empty string")


def _check_int(
    owner: str, name: str, wire: str, value: object, lo: int, hi: int | None = None
) -> None:
    if value is None:
        return
    allowed = f"an integer in [{lo}, {hi}]" if hi is not None else f"an integer >= {lo}"
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(owner, name, wire, f"must be {allowed}, got {type(value).__name__}")
    if value < lo or (hi is not None and value > hi):
        _fail(owner, name, wire, f"must be {allowed}, got {value}")


def _check_bool(owner: str, name: str, wire: str, value: object) -> None:
    if value is not None and not isinstance(value, bool):
        _fail(owner, name, wire, f"must be true or false, got {type(value).__name__}")


def _enum_value(
    owner: str, name: str, wire: str, value: object, enum_cls: type[E], allowed: Iterable[E]
) -> E | None:
    if value is None:
        return None
    choices = ", ".join(f"{int(m)} ({m.name})" for m in allowed)
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(owner, name, wire, f"must be one of {choices}, got {type(value).__name__}")
    try:
        member = enum_cls(value)
    except ValueError:
        _fail(owner, name, wire, f"must be one of {choices}, got {value}")
    if member not in allowed:
        _fail(owner, name, wire, f"must be one of {choices}, got {value}")
    return member


def _region_value(obj: Any, enum_cls: type[E] | None) -> int | None:
    value = obj.region
    if value is None:
        return None
    _check_int(*_wf(obj, "region"), value, 0)
    assert isinstance(value, int)
    if enum_cls is not None:
        try:
            return enum_cls(value)
        except ValueError:  # a region newer than our table: send the number as given
            return value
    return int(value)


def _set(obj: object, name: str, value: object) -> None:
    # Frozen classes normalise their own fields (ints to enums) during __init__.
    object.__setattr__(obj, name, value)


def _secret_repr(value: object) -> str:
    return "None" if value is None else "'***'"


# --- wire names ------------------------------------------------------------------
#
# Each field that travels over the wire declares its PascalCase name once, in its
# attrs metadata (``attrs.field(metadata=_wire("AccountId"))``). ``to_dict``,
# ``from_dict`` (the keys read and the allowed keys of strict reading) and the
# validation messages all take it from there.

_WIRE = "volcspeech.wire"
_WIRE_READ = "volcspeech.wire_read"

#: Reads one nested wire value: ``(value, field path, strict) -> parsed``.
_ReadHook = Callable[[object, str, bool], Any]


def _wire(name: str, *, read: _ReadHook | None = None) -> dict[str, Any]:
    """The attrs metadata of a field sent as ``name``; ``read`` parses a non-null value."""
    return {_WIRE: name, _WIRE_READ: read}


_FIELDS_CACHE: dict[type, tuple[tuple[attrs.Attribute[Any], str], ...]] = {}


def _wire_fields(cls: type) -> tuple[tuple[attrs.Attribute[Any], str], ...]:
    """``(attribute, wire name)`` of ``cls``'s wire fields, in wire order.

    The wire order is the declaration order unless the class lists its field
    names in ``_WIRE_ORDER`` (the body order the vendor documents).
    """
    cached = _FIELDS_CACHE.get(cls)
    if cached is not None:
        return cached
    by_name = {a.name: a for a in attrs.fields(cls) if _WIRE in a.metadata}
    order: Sequence[str] = getattr(cls, "_WIRE_ORDER", None) or tuple(by_name)
    assert sorted(order) == sorted(by_name), f"{cls.__name__}._WIRE_ORDER"
    result = tuple((by_name[n], str(by_name[n].metadata[_WIRE])) for n in order)
    _FIELDS_CACHE[cls] = result
    return result


def _owner(cls: type) -> str:
    """The model's name in messages (a user's subclass still reports the SDK's class)."""
    for klass in cls.__mro__:
        if klass.__module__ == __name__ and attrs.has(klass):
            return klass.__name__
    return cls.__name__  # pragma: no cover


def _wire_of(cls: type, name: str) -> str:
    """The wire name of field ``name`` of model ``cls``."""
    return str(attrs.fields_dict(cls)[name].metadata[_WIRE])


def _wf(obj: object, name: str) -> tuple[str, str, str]:
    """``(owner, field name, wire name)`` of a model or instance, for the validation helpers."""
    cls = obj if isinstance(obj, type) else type(obj)
    return _owner(cls), name, _wire_of(cls, name)


def _dump(value: object) -> Any:
    if isinstance(value, _WireModel):
        return value.to_dict()
    if isinstance(value, enum.IntEnum):
        return int(value)
    if isinstance(value, tuple):
        return [_dump(item) for item in value]
    return value


M = TypeVar("M", bound="_WireModel")


class _WireModel:
    """Generic ``to_dict`` / ``from_dict`` over the fields' wire metadata."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """The PascalCase object, unset (``None``) fields omitted."""
        out: dict[str, Any] = {}
        for attribute, wire in _wire_fields(type(self)):
            value = getattr(self, attribute.name)
            if value is not None:
                out[wire] = _dump(value)
        return out

    @classmethod
    def from_dict(cls: type[M], data: Mapping[str, Any]) -> M:
        """Read the PascalCase object; raises :class:`ValidationError` on bad input."""
        return cls._read(data, "", True)

    @classmethod
    def _read(cls: type[M], data: object, path: str, strict: bool) -> M:
        owner = _owner(cls)
        fields = _wire_fields(cls)
        r = _Reader(owner, data, path, strict=strict)
        kwargs: dict[str, Any] = {}
        for attribute, wire in fields:
            value = r.get(wire)
            read = attribute.metadata[_WIRE_READ]
            if read is not None and value is not None:
                value = read(value, r.field_path(attribute.name), strict)
            kwargs[attribute.name] = value
        r.finish(tuple(wire for _, wire in fields))
        return _build(owner, path, lambda: cls(**kwargs))


# --- reading dicts -------------------------------------------------------------


class _Reader:
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

    def get(self, wire: str) -> Any:
        self.used.add(wire)
        return self.data.get(wire)

    def finish(self, known: Sequence[str]) -> None:
        if not self.strict:
            return
        unknown = sorted(str(k) for k in self.data if k not in known)
        if unknown:
            where = self.path or self.owner
            raise ValidationError(
                f"{where} has unknown field(s) {', '.join(unknown)}; allowed: {', '.join(known)}",
                field=self.path or None,
            )


def _build(cls_name: str, path: str, factory: Callable[[], T]) -> T:
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


# --- storage -------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TosConfig(_WireModel):
    """Volcengine TOS as the destination (``StorageConfig.Type`` = 0).

    Attributes:
        account_id: the main Volcengine account id that owns the bucket (``AccountId``).
        bucket: the bucket name (``Bucket``).
        region: a :class:`TosRegion` (``Region``; the service default is 0, cn-beijing).
    """

    _WIRE_ORDER: ClassVar[tuple[str, ...]] = ("account_id", "region", "bucket")

    account_id: str = attrs.field(metadata=_wire("AccountId"))
    bucket: str = attrs.field(metadata=_wire("Bucket"))
    region: TosRegion | int | None = attrs.field(default=None, metadata=_wire("Region"))

    def __attrs_post_init__(self) -> None:
        _check_text(*_wf(self, "account_id"), self.account_id, required=True)
        _check_text(*_wf(self, "bucket"), self.bucket, required=True)
        _set(self, "region", _region_value(self, TosRegion))


@attrs.frozen(kw_only=True)
class VodConfig(_WireModel):
    """Volcengine VOD as the destination (``StorageConfig.Type`` = 1; not for segmentation).

    Attributes:
        account_id: the main Volcengine account id (``AccountId``).
        space: the VOD space name (``Space``).
        region: the region number (``Region``).
        storage_class: 1 standard, 2 archive, 3 infrequent access (``StorageClass``).
        auto_set_file_extension: set ``FileExtension`` from the file suffix
            (``AutoSetFileExtension``).
    """

    _WIRE_ORDER: ClassVar[tuple[str, ...]] = (
        "account_id",
        "region",
        "space",
        "storage_class",
        "auto_set_file_extension",
    )

    account_id: str = attrs.field(metadata=_wire("AccountId"))
    space: str = attrs.field(metadata=_wire("Space"))
    region: int | None = attrs.field(default=None, metadata=_wire("Region"))
    storage_class: int | None = attrs.field(default=None, metadata=_wire("StorageClass"))
    auto_set_file_extension: bool | None = attrs.field(
        default=None, metadata=_wire("AutoSetFileExtension")
    )

    def __attrs_post_init__(self) -> None:
        _check_text(*_wf(self, "account_id"), self.account_id, required=True)
        _check_text(*_wf(self, "space"), self.space, required=True)
        _set(self, "region", _region_value(self, None))
        _check_int(*_wf(self, "storage_class"), self.storage_class, 1, 3)
        _check_bool(*_wf(self, "auto_set_file_extension"), self.auto_set_file_extension)


@attrs.frozen(kw_only=True, repr=False)
class CustomConfig(_WireModel):
    """An S3-compatible third-party store as the destination (``StorageConfig.Type`` = 2).

    The keys need write access to the bucket (the vendor advises against read
    access). They never appear in ``repr``, ``str`` or error messages.

    Attributes:
        bucket: the bucket name (``Bucket``).
        access_key: the store's access key (``AccessKey``).
        secret_key: the store's secret key (``SecretKey``).
        vendor: a :class:`Vendor` (``Vendor``; service default 0, Amazon S3).
        region: the vendor's region number (``Region``): an :class:`S3Region`
            for Amazon S3, a plain int from the vendor's table otherwise.
    """

    _WIRE_ORDER: ClassVar[tuple[str, ...]] = (
        "vendor",
        "region",
        "bucket",
        "access_key",
        "secret_key",
    )

    bucket: str = attrs.field(metadata=_wire("Bucket"))
    access_key: str = attrs.field(metadata=_wire("AccessKey"))
    secret_key: str = attrs.field(metadata=_wire("SecretKey"))
    vendor: Vendor | int | None = attrs.field(default=None, metadata=_wire("Vendor"))
    region: S3Region | int | None = attrs.field(default=None, metadata=_wire("Region"))

    def __attrs_post_init__(self) -> None:
        _set(self, "vendor", _enum_value(*_wf(self, "vendor"), self.vendor, Vendor, list(Vendor)))
        s3 = self.vendor in (None, Vendor.AMAZON_S3)
        _set(self, "region", _region_value(self, S3Region if s3 else None))
        _check_text(*_wf(self, "bucket"), self.bucket, required=True)
        _check_text(*_wf(self, "access_key"), self.access_key, required=True)
        _check_text(*_wf(self, "secret_key"), self.secret_key, required=True)

    def __repr__(self) -> str:
        return (
            f"CustomConfig(bucket={self.bucket!r}, access_key={_secret_repr(self.access_key)}, "
            f"secret_key={_secret_repr(self.secret_key)}, vendor={self.vendor!r}, "
            f"region={self.region!r})"
        )

    __str__ = __repr__

    def to_dict(self) -> dict[str, Any]:
        """The PascalCase ``CustomConfig`` object, keys included (it is the request body)."""
        return super().to_dict()


@attrs.frozen(kw_only=True)
class VeImageXConfig(_WireModel):
    """veImageX as the destination (``StorageConfig.Type`` = 3; snapshots only, not segmentation).

    Attributes:
        account_id: the main Volcengine account id (``AccountId``).
        service_id: the veImageX service id (``ServiceId``).
        region: the region number (``Region``).
    """

    _WIRE_ORDER: ClassVar[tuple[str, ...]] = ("account_id", "region", "service_id")

    account_id: str = attrs.field(metadata=_wire("AccountId"))
    service_id: str = attrs.field(metadata=_wire("ServiceId"))
    region: int | None = attrs.field(default=None, metadata=_wire("Region"))

    def __attrs_post_init__(self) -> None:
        _check_text(*_wf(self, "account_id"), self.account_id, required=True)
        _check_text(*_wf(self, "service_id"), self.service_id, required=True)
        _set(self, "region", _region_value(self, None))


#: Which config field goes with which storage type, and the class it must hold.
_CONFIG_FIELDS: tuple[tuple[StorageType, str, type], ...] = (
    (StorageType.TOS, "tos_config", TosConfig),
    (StorageType.VOD, "vod_config", VodConfig),
    (StorageType.CUSTOM, "custom_config", CustomConfig),
    (StorageType.VEIMAGEX, "veimagex_config", VeImageXConfig),
)


@attrs.frozen(kw_only=True)
class StorageConfig(_WireModel):
    """Where the service stores the files: exactly the config that matches ``type``.

    Prefer the constructors, which set ``type`` for you::

        StorageConfig.tos(account_id="2100000000", bucket="segments")
        StorageConfig.s3_compatible(vendor=Vendor.ALIYUN_OSS, bucket="b",
                                    access_key="...", secret_key="...", region=3)

    Attributes:
        type: a :class:`StorageType` (``Type``); unset means the service default, TOS.
        tos_config: for ``StorageType.TOS``.
        vod_config: for ``StorageType.VOD``.
        custom_config: for ``StorageType.CUSTOM`` (S3-compatible third party).
        veimagex_config: for ``StorageType.VEIMAGEX``.
    """

    type: StorageType | int | None = attrs.field(default=None, metadata=_wire("Type"))
    tos_config: TosConfig | None = attrs.field(
        default=None, metadata=_wire("TosConfig", read=TosConfig._read)
    )
    vod_config: VodConfig | None = attrs.field(
        default=None, metadata=_wire("VodConfig", read=VodConfig._read)
    )
    custom_config: CustomConfig | None = attrs.field(
        default=None, metadata=_wire("CustomConfig", read=CustomConfig._read)
    )
    veimagex_config: VeImageXConfig | None = attrs.field(
        default=None, metadata=_wire("VeImageXConfig", read=VeImageXConfig._read)
    )

    def __attrs_post_init__(self) -> None:
        kind = _enum_value(*_wf(self, "type"), self.type, StorageType, list(StorageType))
        _set(self, "type", kind)
        effective = self.effective_type
        for member, name, expected in _CONFIG_FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, expected):
                _fail(
                    *_wf(self, name),
                    f"must be a {expected.__name__}, got {type(value).__name__}",
                )
            if member != effective:
                now = "is unset (TOS by default)" if self.type is None else f"is {int(effective)}"
                _fail(
                    *_wf(self, name),
                    f"is set but type {now}; set type={int(member)} ({member.name}) or use a "
                    "constructor such as StorageConfig.tos() / StorageConfig.s3_compatible()",
                )
        for member, name, _ in _CONFIG_FIELDS:
            if member == effective and getattr(self, name) is None:
                _fail(*_wf(self, name), f"is required when type is {int(member)} ({member.name})")

    @property
    def effective_type(self) -> StorageType:
        """``type``, or the service default (TOS) when unset."""
        return StorageType(self.type) if self.type is not None else StorageType.TOS

    @property
    def bucket(self) -> str | None:
        """The bucket the files go to (TOS or custom store), if any."""
        if self.tos_config is not None:
            return self.tos_config.bucket
        if self.custom_config is not None:
            return self.custom_config.bucket
        return None

    @classmethod
    def tos(
        cls, *, account_id: str, bucket: str, region: TosRegion | int | None = TosRegion.CN_BEIJING
    ) -> StorageConfig:
        """Store on Volcengine TOS.

        Args:
            account_id: the main account id that owns the bucket.
            bucket: the bucket name.
            region: a :class:`TosRegion` (cn-beijing by default).
        """
        return cls(
            type=StorageType.TOS,
            tos_config=TosConfig(account_id=account_id, bucket=bucket, region=region),
        )

    @classmethod
    def s3_compatible(
        cls,
        *,
        vendor: Vendor | int = Vendor.AMAZON_S3,
        bucket: str,
        access_key: str,
        secret_key: str,
        region: int | None = None,
    ) -> StorageConfig:
        """Store on an S3-compatible third-party service (``Type`` 2, ``CustomConfig``).

        Args:
            vendor: a :class:`Vendor` (Amazon S3 by default).
            bucket: the bucket name.
            access_key: an access key with write access to the bucket.
            secret_key: its secret key.
            region: the vendor's region number (:class:`S3Region` for Amazon S3).
        """
        return cls(
            type=StorageType.CUSTOM,
            custom_config=CustomConfig(
                vendor=vendor,
                bucket=bucket,
                access_key=access_key,
                secret_key=secret_key,
                region=region,
            ),
        )

    @classmethod
    def vod(
        cls,
        *,
        account_id: str,
        space: str,
        region: int | None = None,
        storage_class: int | None = None,
        auto_set_file_extension: bool | None = None,
    ) -> StorageConfig:
        """Store on Volcengine VOD (not accepted by segmentation; other RTC tasks use it)."""
        return cls(
            type=StorageType.VOD,
            vod_config=VodConfig(
                account_id=account_id,
                space=space,
                region=region,
                storage_class=storage_class,
                auto_set_file_extension=auto_set_file_extension,
            ),
        )

    @classmethod
    def veimagex(
        cls, *, account_id: str, service_id: str, region: int | None = None
    ) -> StorageConfig:
        """Store on veImageX (snapshots only; not accepted by segmentation)."""
        return cls(
            type=StorageType.VEIMAGEX,
            veimagex_config=VeImageXConfig(
                account_id=account_id, service_id=service_id, region=region
            ),
        )


# --- streams and control ---------------------------------------------------------


@attrs.frozen
class Stream(_WireModel):
    """One stream to segment.

    Attributes:
        user_id: the user who publishes it (``UserId``).
        stream_type: a :class:`StreamType`, 0 normal or 1 screen (``StreamType``; default 0).
        index: the stream's index, unique within the list, >= 0 (``Index``).
    """

    _WIRE_ORDER: ClassVar[tuple[str, ...]] = ("index", "user_id", "stream_type")

    user_id: str = attrs.field(metadata=_wire("UserId"))
    stream_type: StreamType | int | None = attrs.field(
        default=None, kw_only=True, metadata=_wire("StreamType")
    )
    index: int | None = attrs.field(default=None, kw_only=True, metadata=_wire("Index"))

    def __attrs_post_init__(self) -> None:
        _check_id(*_wf(self, "user_id"), self.user_id, required=True)
        _set(
            self,
            "stream_type",
            _enum_value(*_wf(self, "stream_type"), self.stream_type, StreamType, list(StreamType)),
        )
        _check_int(*_wf(self, "index"), self.index, 0)


def _stream_tuple(value: Iterable[Stream]) -> tuple[Stream, ...]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        owner, name, wire = _wf(TargetStreams, "stream_list")
        raise ValidationError(f"{owner}.{name} ({wire}) must be a list of Stream", field=name)
    return tuple(value)


@attrs.frozen
class TargetStreams(_WireModel):
    """The streams to segment; empty (or no ``TargetStreams``) means every stream in the room.

    Attributes:
        stream_list: at most 17 :class:`Stream` with unique ``index`` (``StreamList``).
    """

    stream_list: tuple[Stream, ...] = attrs.field(
        default=(), converter=_stream_tuple, metadata=_wire("StreamList")
    )

    def __attrs_post_init__(self) -> None:
        where = _wf(self, "stream_list")
        if len(self.stream_list) > MAX_STREAMS:
            _fail(*where, f"has {len(self.stream_list)} streams; at most {MAX_STREAMS} are allowed")
        seen: set[int] = set()
        for i, stream in enumerate(self.stream_list):
            if not isinstance(stream, Stream):
                _fail(*where, f"item {i} must be a Stream, got {type(stream).__name__}")
            if stream.index is not None:
                if stream.index in seen:
                    _fail(*where, f"has Index {stream.index} twice; each Index must be unique")
                seen.add(stream.index)

    @property
    def user_ids(self) -> list[str]:
        """The distinct user ids, in order."""
        return list(dict.fromkeys(s.user_id for s in self.stream_list))

    @classmethod
    def _read(cls, data: object, path: str, strict: bool) -> TargetStreams:
        # Not the generic reader: unknown keys are refused before the list is read.
        owner, name, wire = _wf(cls, "stream_list")
        r = _Reader(owner, data, path, strict=strict)
        raw = r.get(wire)
        r.finish((wire,))
        list_path = r.field_path(name)
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            raise ValidationError(
                f"{list_path} ({wire}) must be a list, got {type(raw).__name__}",
                field=list_path,
            )
        streams = [Stream._read(item, f"{list_path}[{i}]", strict) for i, item in enumerate(raw)]
        return _build(owner, path, lambda: cls(streams))


@attrs.frozen(kw_only=True)
class SegmentControl(_WireModel):
    """Advanced segmentation settings (``Control``, top level of the body).

    Attributes:
        align: align every user's segments to a common grid, padding with
            silence (``Align``; default false).
        mixed: also segment a mix of the target streams, under user id
            ``mixed`` (``Mixed``; default false).
        ignore_silence: produce no segment for silent periods (``IgnoreSilence``;
            default false).
        redundant_duration: overlap added before each segment but the first, in
            **milliseconds** per the parameter table (``RedundantDuration``).
            The table's worked example reads like seconds; the value is sent
            exactly as given, so check the unit your account uses.
    """

    align: bool | None = attrs.field(default=None, metadata=_wire("Align"))
    mixed: bool | None = attrs.field(default=None, metadata=_wire("Mixed"))
    ignore_silence: bool | None = attrs.field(default=None, metadata=_wire("IgnoreSilence"))
    redundant_duration: int | None = attrs.field(default=None, metadata=_wire("RedundantDuration"))

    def __attrs_post_init__(self) -> None:
        _check_bool(*_wf(self, "align"), self.align)
        _check_bool(*_wf(self, "mixed"), self.mixed)
        _check_bool(*_wf(self, "ignore_silence"), self.ignore_silence)
        _check_int(*_wf(self, "redundant_duration"), self.redundant_duration, 0)


# --- requests --------------------------------------------------------------------

_SEGMENT_STORAGE = (StorageType.TOS, StorageType.CUSTOM)

TargetStreamsLike = Union[TargetStreams, Sequence[Stream], None]


def _target_streams(value: TargetStreamsLike) -> TargetStreams | None:
    if value is None or isinstance(value, TargetStreams):
        return value
    if isinstance(value, (list, tuple)):
        return TargetStreams(tuple(value))
    owner, name, wire = _wf(StartSegmentRequest, "target_streams")
    raise ValidationError(
        f"{owner}.{name} ({wire}) must be a TargetStreams or a list "
        f"of Stream, got {type(value).__name__}",
        field=name,
    )


def _check_ids(obj: Any) -> None:
    _check_id(*_wf(obj, "app_id"), obj.app_id, required=True)
    _check_id(*_wf(obj, "business_id"), obj.business_id, required=False)
    _check_id(*_wf(obj, "room_id"), obj.room_id, required=True)
    _check_id(*_wf(obj, "task_id"), obj.task_id, required=True)


#: The id fields every segmentation request (and ``check_task_key``) shares.
_APP_ID = _wire("AppId")
_BUSINESS_ID = _wire("BusinessId")
_ROOM_ID = _wire("RoomId")
_TASK_ID = _wire("TaskId")


@attrs.frozen(kw_only=True)
class StartSegmentRequest(_WireModel):
    """The ``StartSegment`` body: start segmenting the audio of a room.

    Attributes:
        app_id: the RTC app id (``AppId``).
        room_id: the room (``RoomId``).
        task_id: your id for the task, unique per app and room (``TaskId``).
        storage_config: where the files go; TOS or an S3-compatible store (``StorageConfig``).
        business_id: a business tag for console statistics (``BusinessId``).
        max_idle_time: seconds, 1-86400, after every target stream stopped
            publishing before the task stops (``MaxIdleTime``; default 180).
        target_streams: the streams to segment (``TargetStreams``); a list of
            :class:`Stream` is accepted too. Unset: every stream in the room.
        duration: seconds per segment, 1-600 (``Duration``; default 20).
        control: advanced settings (``Control``).
        identifier: the file name prefix (``Identifier``; default a random UUID).
        handle: start cutting at once (``Handle``; default true); false
            creates the task without cutting (a hot start).
    """

    _WIRE_ORDER: ClassVar[tuple[str, ...]] = (
        "app_id",
        "business_id",
        "room_id",
        "task_id",
        "max_idle_time",
        "target_streams",
        "duration",
        "storage_config",
        "control",
        "identifier",
        "handle",
    )

    app_id: str = attrs.field(metadata=_APP_ID)
    room_id: str = attrs.field(metadata=_ROOM_ID)
    task_id: str = attrs.field(metadata=_TASK_ID)
    storage_config: StorageConfig = attrs.field(
        metadata=_wire("StorageConfig", read=StorageConfig._read)
    )
    business_id: str | None = attrs.field(default=None, metadata=_BUSINESS_ID)
    max_idle_time: int | None = attrs.field(default=None, metadata=_wire("MaxIdleTime"))
    target_streams: TargetStreams | None = attrs.field(
        default=None,
        converter=_target_streams,
        metadata=_wire("TargetStreams", read=TargetStreams._read),
    )
    duration: int | None = attrs.field(default=None, metadata=_wire("Duration"))
    control: SegmentControl | None = attrs.field(
        default=None, metadata=_wire("Control", read=SegmentControl._read)
    )
    identifier: str | None = attrs.field(default=None, metadata=_wire("Identifier"))
    handle: bool | None = attrs.field(default=None, metadata=_wire("Handle"))

    def __attrs_post_init__(self) -> None:
        owner = "StartSegmentRequest"
        _check_ids(self)
        storage: object = self.storage_config
        if storage is None:
            _fail(*_wf(self, "storage_config"), "is required: a StorageConfig")
        if not isinstance(storage, StorageConfig):
            _fail(
                *_wf(self, "storage_config"),
                f"must be a StorageConfig, got {type(storage).__name__}",
            )
        kind = self.storage_config.effective_type
        if kind not in _SEGMENT_STORAGE:
            storage_wire = _wire_of(StartSegmentRequest, "storage_config")
            type_wire = _wire_of(StorageConfig, "type")
            raise ValidationError(
                f"{owner}.storage_config.type ({storage_wire}.{type_wire}) must be 0 (TOS) or "
                f"2 (CUSTOM) for segmentation, got {int(kind)} ({kind.name})",
                field="storage_config.type",
            )
        lo, hi = MAX_IDLE_TIME_RANGE
        _check_int(*_wf(self, "max_idle_time"), self.max_idle_time, lo, hi)
        lo, hi = DURATION_RANGE
        _check_int(*_wf(self, "duration"), self.duration, lo, hi)
        if self.control is not None and not isinstance(self.control, SegmentControl):
            _fail(
                *_wf(self, "control"),
                f"must be a SegmentControl, got {type(self.control).__name__}",
            )
        _check_id(*_wf(self, "identifier"), self.identifier, required=False)
        _check_bool(*_wf(self, "handle"), self.handle)

    def to_dict(self) -> dict[str, Any]:
        """The exact PascalCase body, unset fields omitted, ``Control`` at the top level."""
        return super().to_dict()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StartSegmentRequest:
        """Read a ``StartSegment`` body.

        Also accepts the vendor example's form with ``Control`` nested inside
        ``StorageConfig`` (moved to the top level; silently, since the doc
        itself shows it).

        Raises:
            ValidationError: a missing, unknown or invalid field, named by its path.
        """
        if isinstance(data, Mapping):
            storage_wire = _wire_of(cls, "storage_config")
            control_wire = _wire_of(cls, "control")
            storage = data.get(storage_wire)
            control = data.get(control_wire)
            if isinstance(storage, Mapping) and control_wire in storage:
                nested = storage[control_wire]
                if control is not None and control != nested:
                    raise ValidationError(
                        f"{control_wire} is given both at the top level and inside "
                        f"{storage_wire}, with different values; keep the top-level one",
                        field="control",
                    )
                data = dict(data)
                data[storage_wire] = {k: v for k, v in storage.items() if k != control_wire}
                data[control_wire] = nested
            elif storage is None:
                raise ValidationError(
                    f"StartSegmentRequest.storage_config ({storage_wire}) is required",
                    field="storage_config",
                )
        return cls._read(data, "", True)


@attrs.frozen(kw_only=True)
class UpdateSegmentRequest(_WireModel):
    """The ``UpdateSegment`` body: change a running task.

    Changing ``duration`` restarts the timer: the current segment ends at once
    and a new one begins (Go SDK documentation).

    Attributes:
        app_id: the RTC app id (``AppId``).
        room_id: the room (``RoomId``).
        task_id: the task to update (``TaskId``).
        business_id: the business tag (``BusinessId``).
        duration: seconds per segment, 1-600 (``Duration``).
        handle: cut (true) or pause cutting (false) (``Handle``).
        identifier: the file name prefix (``Identifier``).
    """

    _WIRE_ORDER: ClassVar[tuple[str, ...]] = (
        "app_id",
        "business_id",
        "room_id",
        "task_id",
        "duration",
        "handle",
        "identifier",
    )

    app_id: str = attrs.field(metadata=_APP_ID)
    room_id: str = attrs.field(metadata=_ROOM_ID)
    task_id: str = attrs.field(metadata=_TASK_ID)
    business_id: str | None = attrs.field(default=None, metadata=_BUSINESS_ID)
    duration: int | None = attrs.field(default=None, metadata=_wire("Duration"))
    handle: bool | None = attrs.field(default=None, metadata=_wire("Handle"))
    identifier: str | None = attrs.field(default=None, metadata=_wire("Identifier"))

    def __attrs_post_init__(self) -> None:
        _check_ids(self)
        lo, hi = DURATION_RANGE
        _check_int(*_wf(self, "duration"), self.duration, lo, hi)
        _check_bool(*_wf(self, "handle"), self.handle)
        _check_id(*_wf(self, "identifier"), self.identifier, required=False)

    def to_dict(self) -> dict[str, Any]:
        """The exact PascalCase body, unset fields omitted."""
        return super().to_dict()


@attrs.frozen(kw_only=True)
class StopSegmentRequest(_WireModel):
    """The ``StopSegment`` body: stop a task.

    Attributes:
        app_id: the RTC app id (``AppId``).
        room_id: the room (``RoomId``).
        task_id: the task to stop (``TaskId``).
        business_id: the business tag (``BusinessId``).
    """

    _WIRE_ORDER: ClassVar[tuple[str, ...]] = ("app_id", "business_id", "room_id", "task_id")

    app_id: str = attrs.field(metadata=_APP_ID)
    room_id: str = attrs.field(metadata=_ROOM_ID)
    task_id: str = attrs.field(metadata=_TASK_ID)
    business_id: str | None = attrs.field(default=None, metadata=_BUSINESS_ID)

    def __attrs_post_init__(self) -> None:
        _check_ids(self)

    def to_dict(self) -> dict[str, Any]:
        """The exact PascalCase body, unset fields omitted."""
        return super().to_dict()


def check_task_key(owner: str, app_id: object, room_id: object, task_id: object) -> None:
    """Validate the ``AppId`` / ``RoomId`` / ``TaskId`` triple of a query.

    Raises:
        ValidationError: naming the bad argument.
    """
    _check_id(owner, "app_id", _APP_ID[_WIRE], app_id, required=True)
    _check_id(owner, "room_id", _ROOM_ID[_WIRE], room_id, required=True)
    _check_id(owner, "task_id", _TASK_ID[_WIRE], task_id, required=True)


# --- results ---------------------------------------------------------------------


def _lenient(parse: Callable[[object, str, bool], T]) -> _ReadHook:
    """Parse a settings object of an answer; one the SDK cannot validate stays in ``raw``."""

    def read(value: object, path: str, strict: bool) -> T | None:
        try:
            return parse(value, path, False)
        except ValidationError:
            return None

    return read


def _opt_int(value: object, path: str = "", strict: bool = False) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _opt_str(value: object, path: str = "", strict: bool = False) -> str | None:
    return value if isinstance(value, str) and value else None


def _opt_bool(value: object, path: str, strict: bool) -> bool | None:
    return value if isinstance(value, bool) else None


def _task_status(value: object, path: str, strict: bool) -> SegmentTaskStatus:
    status_raw = _opt_int(value)
    try:
        return SegmentTaskStatus(status_raw if status_raw is not None else 0)
    except ValueError:
        return SegmentTaskStatus.UNKNOWN


@attrs.frozen(kw_only=True)
class SegmentTask:
    """A segmentation task as ``GetSegmentTask`` reports it (tasks of the last 72 hours).

    Settings the service reports but the SDK cannot validate are ``None``
    here; ``raw`` always has the complete ``SegmentTask`` object (including a
    custom store's keys, so it is kept out of ``repr``).

    Attributes:
        app_id: the app id asked about.
        room_id: the room asked about.
        task_id: the task asked about.
        status: a :class:`SegmentTaskStatus` (``Status``); unknown numbers read as ``UNKNOWN``.
        start_time: task start, epoch milliseconds (``StartTime``).
        end_time: task end, epoch milliseconds; 0 while running (``EndTime``).
        stop_reason: ``StopByAPI``, ``StartTaskFailed``, ``IdleTimeOut``,
            ``UserDisconnect``, ``UnknownStopReason``; ``None`` while running.
        duration: seconds per segment (``Duration``).
        handle: whether it is cutting (``Handle``).
        identifier: the file name prefix (``Identifier``).
        max_idle_time: seconds (``MaxIdleTime``).
        target_streams: the target streams (``TargetStreams``).
        storage_config: the destination (``StorageConfig``).
        control: the advanced settings (``Control``).
        request_id: ``ResponseMetadata.RequestId`` of the answer.
        raw: the ``SegmentTask`` object as received.
    """

    # Read tolerantly: each wire field's hook turns what the SDK cannot use into None.
    app_id: str | None = None
    room_id: str | None = None
    task_id: str | None = None
    status: SegmentTaskStatus = attrs.field(
        default=SegmentTaskStatus.UNKNOWN, metadata=_wire("Status", read=_task_status)
    )
    start_time: int | None = attrs.field(default=None, metadata=_wire("StartTime", read=_opt_int))
    end_time: int | None = attrs.field(default=None, metadata=_wire("EndTime", read=_opt_int))
    stop_reason: str | None = attrs.field(default=None, metadata=_wire("StopReason", read=_opt_str))
    duration: int | None = attrs.field(default=None, metadata=_wire("Duration", read=_opt_int))
    handle: bool | None = attrs.field(default=None, metadata=_wire("Handle", read=_opt_bool))
    identifier: str | None = attrs.field(default=None, metadata=_wire("Identifier", read=_opt_str))
    max_idle_time: int | None = attrs.field(
        default=None, metadata=_wire("MaxIdleTime", read=_opt_int)
    )
    target_streams: TargetStreams | None = attrs.field(
        default=None, metadata=_wire("TargetStreams", read=_lenient(TargetStreams._read))
    )
    storage_config: StorageConfig | None = attrs.field(
        default=None, metadata=_wire("StorageConfig", read=_lenient(StorageConfig._read))
    )
    control: SegmentControl | None = attrs.field(
        default=None, metadata=_wire("Control", read=_lenient(SegmentControl._read))
    )
    request_id: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)

    @property
    def running(self) -> bool:
        """Whether the task is running (``Status`` 2)."""
        return self.status == SegmentTaskStatus.RUNNING

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        app_id: str | None = None,
        room_id: str | None = None,
        task_id: str | None = None,
        request_id: str | None = None,
    ) -> SegmentTask:
        """Read ``Result.SegmentTask`` of a ``GetSegmentTask`` answer.

        Args:
            data: the ``SegmentTask`` object.
            app_id: the app id the query asked about (the answer does not repeat it).
            room_id: the room the query asked about.
            task_id: the task the query asked about.
            request_id: the answer's request id.

        Raises:
            ValidationError: ``data`` is not a JSON object.
        """
        if not isinstance(data, Mapping):
            raise ValidationError(
                f"SegmentTask must be a JSON object, got {type(data).__name__}", field=None
            )
        kwargs: dict[str, Any] = {}
        for attribute, wire in _wire_fields(cls):
            value = data.get(wire)
            if value is not None:
                kwargs[attribute.name] = attribute.metadata[_WIRE_READ](
                    value, attribute.name, False
                )
        return cls(
            app_id=app_id,
            room_id=room_id,
            task_id=task_id,
            request_id=request_id,
            raw=dict(data),
            **kwargs,
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``SegmentTask`` object as received (a copy of ``raw``)."""
        return dict(self.raw)
