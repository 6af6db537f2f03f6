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
from typing import Any, Callable, NoReturn, TypeVar, Union

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


def _region_value(owner: str, value: object, enum_cls: type[E] | None) -> int | None:
    if value is None:
        return None
    _check_int(owner, "region", "Region", value, 0)
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


def _put(out: dict[str, Any], wire: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, enum.IntEnum):
        value = int(value)
    out[wire] = value


def _secret_repr(value: object) -> str:
    return "None" if value is None else "'***'"


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


def _nested(
    reader: _Reader, wire: str, name: str, parse: Callable[[object, str, bool], T]
) -> T | None:
    value = reader.get(wire)
    if value is None:
        return None
    return parse(value, reader.field_path(name), reader.strict)


# --- storage -------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TosConfig:
    """Volcengine TOS as the destination (``StorageConfig.Type`` = 0).

    Attributes:
        account_id: the main Volcengine account id that owns the bucket (``AccountId``).
        bucket: the bucket name (``Bucket``).
        region: a :class:`TosRegion` (``Region``; the service default is 0, cn-beijing).
    """

    account_id: str
    bucket: str
    region: TosRegion | int | None = None

    def __attrs_post_init__(self) -> None:
        _check_text("TosConfig", "account_id", "AccountId", self.account_id, required=True)
        _check_text("TosConfig", "bucket", "Bucket", self.bucket, required=True)
        _set(self, "region", _region_value("TosConfig", self.region, TosRegion))

    def to_dict(self) -> dict[str, Any]:
        """The PascalCase ``TosConfig`` object."""
        out: dict[str, Any] = {"AccountId": self.account_id}
        _put(out, "Region", self.region)
        out["Bucket"] = self.bucket
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TosConfig:
        """Read a ``TosConfig`` object; raises :class:`ValidationError` on bad input."""
        return cls._read(data, "", True)

    @classmethod
    def _read(cls, data: object, path: str, strict: bool) -> TosConfig:
        r = _Reader("TosConfig", data, path, strict=strict)
        kwargs = {
            "account_id": r.get("AccountId"),
            "bucket": r.get("Bucket"),
            "region": r.get("Region"),
        }
        r.finish(("AccountId", "Region", "Bucket"))
        return _build("TosConfig", path, lambda: cls(**kwargs))


@attrs.frozen(kw_only=True)
class VodConfig:
    """Volcengine VOD as the destination (``StorageConfig.Type`` = 1; not for segmentation).

    Attributes:
        account_id: the main Volcengine account id (``AccountId``).
        space: the VOD space name (``Space``).
        region: the region number (``Region``).
        storage_class: 1 standard, 2 archive, 3 infrequent access (``StorageClass``).
        auto_set_file_extension: set ``FileExtension`` from the file suffix
            (``AutoSetFileExtension``).
    """

    account_id: str
    space: str
    region: int | None = None
    storage_class: int | None = None
    auto_set_file_extension: bool | None = None

    def __attrs_post_init__(self) -> None:
        _check_text("VodConfig", "account_id", "AccountId", self.account_id, required=True)
        _check_text("VodConfig", "space", "Space", self.space, required=True)
        _set(self, "region", _region_value("VodConfig", self.region, None))
        _check_int("VodConfig", "storage_class", "StorageClass", self.storage_class, 1, 3)
        _check_bool(
            "VodConfig",
            "auto_set_file_extension",
            "AutoSetFileExtension",
            self.auto_set_file_extension,
        )

    def to_dict(self) -> dict[str, Any]:
        """The PascalCase ``VodConfig`` object."""
        out: dict[str, Any] = {"AccountId": self.account_id}
        _put(out, "Region", self.region)
        out["Space"] = self.space
        _put(out, "StorageClass", self.storage_class)
        _put(out, "AutoSetFileExtension", self.auto_set_file_extension)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VodConfig:
        """Read a ``VodConfig`` object; raises :class:`ValidationError` on bad input."""
        return cls._read(data, "", True)

    @classmethod
    def _read(cls, data: object, path: str, strict: bool) -> VodConfig:
        r = _Reader("VodConfig", data, path, strict=strict)
        kwargs = {
            "account_id": r.get("AccountId"),
            "space": r.get("Space"),
            "region": r.get("Region"),
            "storage_class": r.get("StorageClass"),
            "auto_set_file_extension": r.get("AutoSetFileExtension"),
        }
        r.finish(("AccountId", "Region", "Space", "StorageClass", "AutoSetFileExtension"))
        return _build("VodConfig", path, lambda: cls(**kwargs))


@attrs.frozen(kw_only=True, repr=False)
class CustomConfig:
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

    bucket: str
    access_key: str
    secret_key: str
    vendor: Vendor | int | None = None
    region: S3Region | int | None = None

    def __attrs_post_init__(self) -> None:
        _set(
            self,
            "vendor",
            _enum_value("CustomConfig", "vendor", "Vendor", self.vendor, Vendor, list(Vendor)),
        )
        s3 = self.vendor in (None, Vendor.AMAZON_S3)
        _set(self, "region", _region_value("CustomConfig", self.region, S3Region if s3 else None))
        _check_text("CustomConfig", "bucket", "Bucket", self.bucket, required=True)
        _check_text("CustomConfig", "access_key", "AccessKey", self.access_key, required=True)
        _check_text("CustomConfig", "secret_key", "SecretKey", self.secret_key, required=True)

    def __repr__(self) -> str:
        return (
            f"CustomConfig(bucket={self.bucket!r}, access_key={_secret_repr(self.access_key)}, "
            f"secret_key={_secret_repr(self.secret_key)}, vendor={self.vendor!r}, "
            f"region={self.region!r})"
        )

    __str__ = __repr__

    def to_dict(self) -> dict[str, Any]:
        """The PascalCase ``CustomConfig`` object, keys included (it is the request body)."""
        out: dict[str, Any] = {}
        _put(out, "Vendor", self.vendor)
        _put(out, "Region", self.region)
        out["Bucket"] = self.bucket
        out["AccessKey"] = self.access_key
        out["SecretKey"] = self.secret_key
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CustomConfig:
        """Read a ``CustomConfig`` object; raises :class:`ValidationError` on bad input."""
        return cls._read(data, "", True)

    @classmethod
    def _read(cls, data: object, path: str, strict: bool) -> CustomConfig:
        r = _Reader("CustomConfig", data, path, strict=strict)
        kwargs = {
            "vendor": r.get("Vendor"),
            "region": r.get("Region"),
            "bucket": r.get("Bucket"),
            "access_key": r.get("AccessKey"),
            "secret_key": r.get("SecretKey"),
        }
        r.finish(("Vendor", "Region", "Bucket", "AccessKey", "SecretKey"))
        return _build("CustomConfig", path, lambda: cls(**kwargs))


@attrs.frozen(kw_only=True)
class VeImageXConfig:
    """veImageX as the destination (``StorageConfig.Type`` = 3; snapshots only, not segmentation).

    Attributes:
        account_id: the main Volcengine account id (``AccountId``).
        service_id: the veImageX service id (``ServiceId``).
        region: the region number (``Region``).
    """

    account_id: str
    service_id: str
    region: int | None = None

    def __attrs_post_init__(self) -> None:
        _check_text("VeImageXConfig", "account_id", "AccountId", self.account_id, required=True)
        _check_text("VeImageXConfig", "service_id", "ServiceId", self.service_id, required=True)
        _set(self, "region", _region_value("VeImageXConfig", self.region, None))

    def to_dict(self) -> dict[str, Any]:
        """The PascalCase ``VeImageXConfig`` object."""
        out: dict[str, Any] = {"AccountId": self.account_id}
        _put(out, "Region", self.region)
        out["ServiceId"] = self.service_id
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VeImageXConfig:
        """Read a ``VeImageXConfig`` object; raises :class:`ValidationError` on bad input."""
        return cls._read(data, "", True)

    @classmethod
    def _read(cls, data: object, path: str, strict: bool) -> VeImageXConfig:
        r = _Reader("VeImageXConfig", data, path, strict=strict)
        kwargs = {
            "account_id": r.get("AccountId"),
            "service_id": r.get("ServiceId"),
            "region": r.get("Region"),
        }
        r.finish(("AccountId", "Region", "ServiceId"))
        return _build("VeImageXConfig", path, lambda: cls(**kwargs))


_CONFIG_FIELDS: tuple[tuple[StorageType, str, str], ...] = (
    (StorageType.TOS, "tos_config", "TosConfig"),
    (StorageType.VOD, "vod_config", "VodConfig"),
    (StorageType.CUSTOM, "custom_config", "CustomConfig"),
    (StorageType.VEIMAGEX, "veimagex_config", "VeImageXConfig"),
)
_CONFIG_CLASSES: dict[str, type] = {}


@attrs.frozen(kw_only=True)
class StorageConfig:
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

    type: StorageType | int | None = None
    tos_config: TosConfig | None = None
    vod_config: VodConfig | None = None
    custom_config: CustomConfig | None = None
    veimagex_config: VeImageXConfig | None = None

    def __attrs_post_init__(self) -> None:
        kind = _enum_value(
            "StorageConfig", "type", "Type", self.type, StorageType, list(StorageType)
        )
        _set(self, "type", kind)
        effective = self.effective_type
        for member, name, wire in _CONFIG_FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            expected = _CONFIG_CLASSES[wire]
            if not isinstance(value, expected):
                _fail("StorageConfig", name, wire, f"must be a {wire}, got {type(value).__name__}")
            if member != effective:
                now = "is unset (TOS by default)" if self.type is None else f"is {int(effective)}"
                _fail(
                    "StorageConfig",
                    name,
                    wire,
                    f"is set but type {now}; set type={int(member)} ({member.name}) or use a "
                    "constructor such as StorageConfig.tos() / StorageConfig.s3_compatible()",
                )
        for member, name, wire in _CONFIG_FIELDS:
            if member == effective and getattr(self, name) is None:
                _fail(
                    "StorageConfig",
                    name,
                    wire,
                    f"is required when type is {int(member)} ({member.name})",
                )

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

    def to_dict(self) -> dict[str, Any]:
        """The PascalCase ``StorageConfig`` object."""
        out: dict[str, Any] = {}
        _put(out, "Type", self.type)
        for _, name, wire in _CONFIG_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[wire] = value.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StorageConfig:
        """Read a ``StorageConfig`` object; raises :class:`ValidationError` on bad input."""
        return cls._read(data, "", True)

    @classmethod
    def _read(cls, data: object, path: str, strict: bool) -> StorageConfig:
        r = _Reader("StorageConfig", data, path, strict=strict)
        kwargs = {
            "type": r.get("Type"),
            "tos_config": _nested(r, "TosConfig", "tos_config", TosConfig._read),
            "vod_config": _nested(r, "VodConfig", "vod_config", VodConfig._read),
            "custom_config": _nested(r, "CustomConfig", "custom_config", CustomConfig._read),
            "veimagex_config": _nested(
                r, "VeImageXConfig", "veimagex_config", VeImageXConfig._read
            ),
        }
        r.finish(("Type", "TosConfig", "VodConfig", "CustomConfig", "VeImageXConfig"))
        return _build("StorageConfig", path, lambda: cls(**kwargs))


_CONFIG_CLASSES.update(
    TosConfig=TosConfig,
    VodConfig=VodConfig,
    CustomConfig=CustomConfig,
    VeImageXConfig=VeImageXConfig,
)


# --- streams and control ---------------------------------------------------------


@attrs.frozen
class Stream:
    """One stream to segment.

    Attributes:
        user_id: the user who publishes it (``UserId``).
        stream_type: a :class:`StreamType`, 0 normal or 1 screen (``StreamType``; default 0).
        index: the stream's index, unique within the list, >= 0 (``Index``).
    """

    user_id: str
    stream_type: StreamType | int | None = attrs.field(default=None, kw_only=True)
    index: int | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        _check_id("Stream", "user_id", "UserId", self.user_id, required=True)
        _set(
            self,
            "stream_type",
            _enum_value(
                "Stream",
                "stream_type",
                "StreamType",
                self.stream_type,
                StreamType,
                list(StreamType),
            ),
        )
        _check_int("Stream", "index", "Index", self.index, 0)

    def to_dict(self) -> dict[str, Any]:
        """The PascalCase ``Stream`` object."""
        out: dict[str, Any] = {}
        _put(out, "Index", self.index)
        out["UserId"] = self.user_id
        _put(out, "StreamType", self.stream_type)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Stream:
        """Read a ``Stream`` object; raises :class:`ValidationError` on bad input."""
        return cls._read(data, "", True)

    @classmethod
    def _read(cls, data: object, path: str, strict: bool) -> Stream:
        r = _Reader("Stream", data, path, strict=strict)
        user_id, stream_type, index = r.get("UserId"), r.get("StreamType"), r.get("Index")
        r.finish(("Index", "UserId", "StreamType"))
        return _build("Stream", path, lambda: cls(user_id, stream_type=stream_type, index=index))


def _stream_tuple(value: Iterable[Stream]) -> tuple[Stream, ...]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ValidationError(
            "TargetStreams.stream_list (StreamList) must be a list of Stream",
            field="stream_list",
        )
    return tuple(value)


@attrs.frozen
class TargetStreams:
    """The streams to segment; empty (or no ``TargetStreams``) means every stream in the room.

    Attributes:
        stream_list: at most 17 :class:`Stream` with unique ``index`` (``StreamList``).
    """

    stream_list: tuple[Stream, ...] = attrs.field(default=(), converter=_stream_tuple)

    def __attrs_post_init__(self) -> None:
        if len(self.stream_list) > MAX_STREAMS:
            _fail(
                "TargetStreams",
                "stream_list",
                "StreamList",
                f"has {len(self.stream_list)} streams; at most {MAX_STREAMS} are allowed",
            )
        seen: set[int] = set()
        for i, stream in enumerate(self.stream_list):
            if not isinstance(stream, Stream):
                _fail(
                    "TargetStreams",
                    "stream_list",
                    "StreamList",
                    f"item {i} must be a Stream, got {type(stream).__name__}",
                )
            if stream.index is not None:
                if stream.index in seen:
                    _fail(
                        "TargetStreams",
                        "stream_list",
                        "StreamList",
                        f"has Index {stream.index} twice; each Index must be unique",
                    )
                seen.add(stream.index)

    @property
    def user_ids(self) -> list[str]:
        """The distinct user ids, in order."""
        return list(dict.fromkeys(s.user_id for s in self.stream_list))

    def to_dict(self) -> dict[str, Any]:
        """The PascalCase ``TargetStreams`` object."""
        return {"StreamList": [s.to_dict() for s in self.stream_list]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TargetStreams:
        """Read a ``TargetStreams`` object; raises :class:`ValidationError` on bad input."""
        return cls._read(data, "", True)

    @classmethod
    def _read(cls, data: object, path: str, strict: bool) -> TargetStreams:
        r = _Reader("TargetStreams", data, path, strict=strict)
        raw = r.get("StreamList")
        r.finish(("StreamList",))
        list_path = r.field_path("stream_list")
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            raise ValidationError(
                f"{list_path} (StreamList) must be a list, got {type(raw).__name__}",
                field=list_path,
            )
        streams = [Stream._read(item, f"{list_path}[{i}]", strict) for i, item in enumerate(raw)]
        return _build("TargetStreams", path, lambda: cls(streams))


@attrs.frozen(kw_only=True)
class SegmentControl:
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

    align: bool | None = None
    mixed: bool | None = None
    ignore_silence: bool | None = None
    redundant_duration: int | None = None

    def __attrs_post_init__(self) -> None:
        _check_bool("SegmentControl", "align", "Align", self.align)
        _check_bool("SegmentControl", "mixed", "Mixed", self.mixed)
        _check_bool("SegmentControl", "ignore_silence", "IgnoreSilence", self.ignore_silence)
        _check_int(
            "SegmentControl", "redundant_duration", "RedundantDuration", self.redundant_duration, 0
        )

    def to_dict(self) -> dict[str, Any]:
        """The PascalCase ``Control`` object."""
        out: dict[str, Any] = {}
        _put(out, "Align", self.align)
        _put(out, "Mixed", self.mixed)
        _put(out, "IgnoreSilence", self.ignore_silence)
        _put(out, "RedundantDuration", self.redundant_duration)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SegmentControl:
        """Read a ``Control`` object; raises :class:`ValidationError` on bad input."""
        return cls._read(data, "", True)

    @classmethod
    def _read(cls, data: object, path: str, strict: bool) -> SegmentControl:
        r = _Reader("SegmentControl", data, path, strict=strict)
        kwargs = {
            "align": r.get("Align"),
            "mixed": r.get("Mixed"),
            "ignore_silence": r.get("IgnoreSilence"),
            "redundant_duration": r.get("RedundantDuration"),
        }
        r.finish(("Align", "Mixed", "IgnoreSilence", "RedundantDuration"))
        return _build("SegmentControl", path, lambda: cls(**kwargs))


# --- requests --------------------------------------------------------------------

_SEGMENT_STORAGE = (StorageType.TOS, StorageType.CUSTOM)

TargetStreamsLike = Union[TargetStreams, Sequence[Stream], None]


def _target_streams(value: TargetStreamsLike) -> TargetStreams | None:
    if value is None or isinstance(value, TargetStreams):
        return value
    if isinstance(value, (list, tuple)):
        return TargetStreams(tuple(value))
    raise ValidationError(
        "StartSegmentRequest.target_streams (TargetStreams) must be a TargetStreams or a list "
        f"of Stream, got {type(value).__name__}",
        field="target_streams",
    )


def _check_ids(owner: str, obj: Any) -> None:
    _check_id(owner, "app_id", "AppId", obj.app_id, required=True)
    _check_id(owner, "business_id", "BusinessId", obj.business_id, required=False)
    _check_id(owner, "room_id", "RoomId", obj.room_id, required=True)
    _check_id(owner, "task_id", "TaskId", obj.task_id, required=True)


@attrs.frozen(kw_only=True)
class StartSegmentRequest:
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

    app_id: str
    room_id: str
    task_id: str
    storage_config: StorageConfig
    business_id: str | None = None
    max_idle_time: int | None = None
    target_streams: TargetStreams | None = attrs.field(default=None, converter=_target_streams)
    duration: int | None = None
    control: SegmentControl | None = None
    identifier: str | None = None
    handle: bool | None = None

    def __attrs_post_init__(self) -> None:
        owner = "StartSegmentRequest"
        _check_ids(owner, self)
        storage: object = self.storage_config
        if storage is None:
            _fail(owner, "storage_config", "StorageConfig", "is required: a StorageConfig")
        if not isinstance(storage, StorageConfig):
            _fail(
                owner,
                "storage_config",
                "StorageConfig",
                f"must be a StorageConfig, got {type(storage).__name__}",
            )
        kind = self.storage_config.effective_type
        if kind not in _SEGMENT_STORAGE:
            raise ValidationError(
                f"{owner}.storage_config.type (StorageConfig.Type) must be 0 (TOS) or 2 (CUSTOM) "
                f"for segmentation, got {int(kind)} ({kind.name})",
                field="storage_config.type",
            )
        lo, hi = MAX_IDLE_TIME_RANGE
        _check_int(owner, "max_idle_time", "MaxIdleTime", self.max_idle_time, lo, hi)
        lo, hi = DURATION_RANGE
        _check_int(owner, "duration", "Duration", self.duration, lo, hi)
        if self.control is not None and not isinstance(self.control, SegmentControl):
            _fail(
                owner,
                "control",
                "Control",
                f"must be a SegmentControl, got {type(self.control).__name__}",
            )
        _check_id(owner, "identifier", "Identifier", self.identifier, required=False)
        _check_bool(owner, "handle", "Handle", self.handle)

    def to_dict(self) -> dict[str, Any]:
        """The exact PascalCase body, unset fields omitted, ``Control`` at the top level."""
        out: dict[str, Any] = {"AppId": self.app_id}
        _put(out, "BusinessId", self.business_id)
        out["RoomId"] = self.room_id
        out["TaskId"] = self.task_id
        _put(out, "MaxIdleTime", self.max_idle_time)
        if self.target_streams is not None:
            out["TargetStreams"] = self.target_streams.to_dict()
        _put(out, "Duration", self.duration)
        out["StorageConfig"] = self.storage_config.to_dict()
        if self.control is not None:
            out["Control"] = self.control.to_dict()
        _put(out, "Identifier", self.identifier)
        _put(out, "Handle", self.handle)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StartSegmentRequest:
        """Read a ``StartSegment`` body.

        Also accepts the vendor example's form with ``Control`` nested inside
        ``StorageConfig`` (moved to the top level; silently, since the doc
        itself shows it).

        Raises:
            ValidationError: a missing, unknown or invalid field, named by its path.
        """
        r = _Reader("StartSegmentRequest", data, "", strict=True)
        storage = r.get("StorageConfig")
        control = r.get("Control")
        if isinstance(storage, Mapping) and "Control" in storage:
            nested = storage["Control"]
            storage = {k: v for k, v in storage.items() if k != "Control"}
            if control is not None and control != nested:
                raise ValidationError(
                    "Control is given both at the top level and inside StorageConfig, "
                    "with different values; keep the top-level one",
                    field="control",
                )
            control = nested
        if storage is None:
            raise ValidationError(
                "StartSegmentRequest.storage_config (StorageConfig) is required",
                field="storage_config",
            )
        kwargs: dict[str, Any] = {
            "app_id": r.get("AppId"),
            "business_id": r.get("BusinessId"),
            "room_id": r.get("RoomId"),
            "task_id": r.get("TaskId"),
            "max_idle_time": r.get("MaxIdleTime"),
            "target_streams": _nested(r, "TargetStreams", "target_streams", TargetStreams._read),
            "duration": r.get("Duration"),
            "storage_config": StorageConfig._read(storage, "storage_config", True),
            "control": None if control is None else SegmentControl._read(control, "control", True),
            "identifier": r.get("Identifier"),
            "handle": r.get("Handle"),
        }
        r.finish(_START_KEYS)
        return _build("StartSegmentRequest", "", lambda: cls(**kwargs))


_START_KEYS = (
    "AppId",
    "BusinessId",
    "RoomId",
    "TaskId",
    "MaxIdleTime",
    "TargetStreams",
    "Duration",
    "StorageConfig",
    "Control",
    "Identifier",
    "Handle",
)


@attrs.frozen(kw_only=True)
class UpdateSegmentRequest:
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

    app_id: str
    room_id: str
    task_id: str
    business_id: str | None = None
    duration: int | None = None
    handle: bool | None = None
    identifier: str | None = None

    def __attrs_post_init__(self) -> None:
        owner = "UpdateSegmentRequest"
        _check_ids(owner, self)
        lo, hi = DURATION_RANGE
        _check_int(owner, "duration", "Duration", self.duration, lo, hi)
        _check_bool(owner, "handle", "Handle", self.handle)
        _check_id(owner, "identifier", "Identifier", self.identifier, required=False)

    def to_dict(self) -> dict[str, Any]:
        """The exact PascalCase body, unset fields omitted."""
        out: dict[str, Any] = {"AppId": self.app_id}
        _put(out, "BusinessId", self.business_id)
        out["RoomId"] = self.room_id
        out["TaskId"] = self.task_id
        _put(out, "Duration", self.duration)
        _put(out, "Handle", self.handle)
        _put(out, "Identifier", self.identifier)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UpdateSegmentRequest:
        """Read an ``UpdateSegment`` body; raises :class:`ValidationError` on bad input."""
        r = _Reader("UpdateSegmentRequest", data, "", strict=True)
        kwargs = {
            "app_id": r.get("AppId"),
            "business_id": r.get("BusinessId"),
            "room_id": r.get("RoomId"),
            "task_id": r.get("TaskId"),
            "duration": r.get("Duration"),
            "handle": r.get("Handle"),
            "identifier": r.get("Identifier"),
        }
        r.finish(("AppId", "BusinessId", "RoomId", "TaskId", "Duration", "Handle", "Identifier"))
        return _build("UpdateSegmentRequest", "", lambda: cls(**kwargs))


@attrs.frozen(kw_only=True)
class StopSegmentRequest:
    """The ``StopSegment`` body: stop a task.

    Attributes:
        app_id: the RTC app id (``AppId``).
        room_id: the room (``RoomId``).
        task_id: the task to stop (``TaskId``).
        business_id: the business tag (``BusinessId``).
    """

    app_id: str
    room_id: str
    task_id: str
    business_id: str | None = None

    def __attrs_post_init__(self) -> None:
        _check_ids("StopSegmentRequest", self)

    def to_dict(self) -> dict[str, Any]:
        """The exact PascalCase body, unset fields omitted."""
        out: dict[str, Any] = {"AppId": self.app_id}
        _put(out, "BusinessId", self.business_id)
        out["RoomId"] = self.room_id
        out["TaskId"] = self.task_id
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StopSegmentRequest:
        """Read a ``StopSegment`` body; raises :class:`ValidationError` on bad input."""
        r = _Reader("StopSegmentRequest", data, "", strict=True)
        kwargs = {
            "app_id": r.get("AppId"),
            "business_id": r.get("BusinessId"),
            "room_id": r.get("RoomId"),
            "task_id": r.get("TaskId"),
        }
        r.finish(("AppId", "BusinessId", "RoomId", "TaskId"))
        return _build("StopSegmentRequest", "", lambda: cls(**kwargs))


def check_task_key(owner: str, app_id: object, room_id: object, task_id: object) -> None:
    """Validate the ``AppId`` / ``RoomId`` / ``TaskId`` triple of a query.

    Raises:
        ValidationError: naming the bad argument.
    """
    _check_id(owner, "app_id", "AppId", app_id, required=True)
    _check_id(owner, "room_id", "RoomId", room_id, required=True)
    _check_id(owner, "task_id", "TaskId", task_id, required=True)


# --- results ---------------------------------------------------------------------


def _lenient(parse: Callable[[object, str, bool], T], value: object, path: str) -> T | None:
    """Parse a settings object of an answer; one the SDK cannot validate stays in ``raw``."""
    if value is None:
        return None
    try:
        return parse(value, path, False)
    except ValidationError:
        return None


def _opt_int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


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

    app_id: str | None = None
    room_id: str | None = None
    task_id: str | None = None
    status: SegmentTaskStatus = SegmentTaskStatus.UNKNOWN
    start_time: int | None = None
    end_time: int | None = None
    stop_reason: str | None = None
    duration: int | None = None
    handle: bool | None = None
    identifier: str | None = None
    max_idle_time: int | None = None
    target_streams: TargetStreams | None = None
    storage_config: StorageConfig | None = None
    control: SegmentControl | None = None
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
        status_raw = _opt_int(data.get("Status"))
        try:
            status = SegmentTaskStatus(status_raw if status_raw is not None else 0)
        except ValueError:
            status = SegmentTaskStatus.UNKNOWN
        handle = data.get("Handle")
        return cls(
            app_id=app_id,
            room_id=room_id,
            task_id=task_id,
            status=status,
            start_time=_opt_int(data.get("StartTime")),
            end_time=_opt_int(data.get("EndTime")),
            stop_reason=_opt_str(data.get("StopReason")),
            duration=_opt_int(data.get("Duration")),
            handle=handle if isinstance(handle, bool) else None,
            identifier=_opt_str(data.get("Identifier")),
            max_idle_time=_opt_int(data.get("MaxIdleTime")),
            target_streams=_lenient(
                TargetStreams._read, data.get("TargetStreams"), "target_streams"
            ),
            storage_config=_lenient(
                StorageConfig._read, data.get("StorageConfig"), "storage_config"
            ),
            control=_lenient(SegmentControl._read, data.get("Control"), "control"),
            request_id=request_id,
            raw=dict(data),
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``SegmentTask`` object as received (a copy of ``raw``)."""
        return dict(self.raw)
