"""Where the segmentation service stores its files: ``StorageConfig`` and its four configs.

Sources: vendor doc 6348/1188212 (``StartSegment``), the vendor Go SDK
``service/rtc/v20231101/model.go`` (the VOD and veImageX settings) and vendor
doc 6348/1167931 (storage region numbers).
"""

from __future__ import annotations

from typing import Any, ClassVar, Optional, Union

import attrs

from ._enums import S3Region, StorageType, TosRegion, Vendor
from ._validators import (
    a_bool,
    a_region,
    a_text,
    an_int,
    as_member,
    fail,
    member_of,
    region_for_vendor,
)
from ._wire import WireModel, where, wire

__all__ = [
    "CustomConfig",
    "StorageConfig",
    "TosConfig",
    "VeImageXConfig",
    "VodConfig",
]


def _tos_region(value: Any) -> Any:
    return as_member(TosRegion, value)


def _plain_int(value: Any) -> Any:
    return as_member(None, value)


def _vendor(value: Any) -> Any:
    return as_member(Vendor, value)


def _storage_type_member(value: Any) -> Any:
    return as_member(StorageType, value)


def _masked(value: object) -> str:
    """How a secret shows in ``repr``: whether it is set, never what it is."""
    return "None" if value is None else "'***'"


@attrs.frozen(kw_only=True)
class TosConfig(WireModel):
    """Volcengine TOS as the destination (``StorageConfig.Type`` = 0).

    Attributes:
        account_id: the main Volcengine account id that owns the bucket (``AccountId``).
        bucket: the bucket name (``Bucket``).
        region: a :class:`TosRegion` (``Region``; the service default is 0, cn-beijing).
    """

    _WIRE_ORDER: ClassVar[tuple[str, ...]] = ("account_id", "region", "bucket")

    account_id: str = attrs.field(validator=a_text(required=True), metadata=wire("AccountId"))
    bucket: str = attrs.field(validator=a_text(required=True), metadata=wire("Bucket"))
    region: Union[TosRegion, int, None] = attrs.field(
        default=None, converter=_tos_region, validator=a_region, metadata=wire("Region")
    )


@attrs.frozen(kw_only=True)
class VodConfig(WireModel):
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

    account_id: str = attrs.field(validator=a_text(required=True), metadata=wire("AccountId"))
    space: str = attrs.field(validator=a_text(required=True), metadata=wire("Space"))
    region: Optional[int] = attrs.field(
        default=None, converter=_plain_int, validator=a_region, metadata=wire("Region")
    )
    storage_class: Optional[int] = attrs.field(
        default=None, validator=an_int(1, 3), metadata=wire("StorageClass")
    )
    auto_set_file_extension: Optional[bool] = attrs.field(
        default=None, validator=a_bool, metadata=wire("AutoSetFileExtension")
    )


@attrs.frozen(kw_only=True)
class CustomConfig(WireModel):
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

    bucket: str = attrs.field(validator=a_text(required=True), metadata=wire("Bucket"))
    access_key: str = attrs.field(
        repr=_masked, validator=a_text(required=True), metadata=wire("AccessKey")
    )
    secret_key: str = attrs.field(
        repr=_masked, validator=a_text(required=True), metadata=wire("SecretKey")
    )
    vendor: Union[Vendor, int, None] = attrs.field(
        default=None,
        converter=_vendor,
        validator=member_of(Vendor),
        metadata=wire("Vendor"),
    )
    # Declared after ``vendor``: the converter reads it to pick the region table.
    region: Union[S3Region, int, None] = attrs.field(
        default=None,
        converter=attrs.Converter(region_for_vendor, takes_self=True),  # type: ignore[misc]
        validator=a_region,
        metadata=wire("Region"),
    )

    def to_dict(self) -> dict[str, Any]:
        """The PascalCase ``CustomConfig`` object, keys included (it is the request body)."""
        return super().to_dict()


@attrs.frozen(kw_only=True)
class VeImageXConfig(WireModel):
    """veImageX as the destination (``StorageConfig.Type`` = 3; snapshots only, not segmentation).

    Attributes:
        account_id: the main Volcengine account id (``AccountId``).
        service_id: the veImageX service id (``ServiceId``).
        region: the region number (``Region``).
    """

    _WIRE_ORDER: ClassVar[tuple[str, ...]] = ("account_id", "region", "service_id")

    account_id: str = attrs.field(validator=a_text(required=True), metadata=wire("AccountId"))
    service_id: str = attrs.field(validator=a_text(required=True), metadata=wire("ServiceId"))
    region: Optional[int] = attrs.field(
        default=None, converter=_plain_int, validator=a_region, metadata=wire("Region")
    )


#: Which config field goes with which storage type, and the class it must hold.
_CONFIG_FIELDS: tuple[tuple[StorageType, str, type], ...] = (
    (StorageType.TOS, "tos_config", TosConfig),
    (StorageType.VOD, "vod_config", VodConfig),
    (StorageType.CUSTOM, "custom_config", CustomConfig),
    (StorageType.VEIMAGEX, "veimagex_config", VeImageXConfig),
)

_storage_type = member_of(StorageType)


def _type_and_configs(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validator of ``StorageConfig.type``: a known type, and exactly its config set."""
    _storage_type(instance, attribute, value)
    effective = instance.effective_type
    for member, name, expected in _CONFIG_FIELDS:
        config = getattr(instance, name)
        if config is None:
            continue
        if not isinstance(config, expected):
            fail(
                *where(instance, name),
                f"must be a {expected.__name__}, got {type(config).__name__}",
            )
        if member != effective:
            now = "is unset (TOS by default)" if value is None else f"is {int(effective)}"
            fail(
                *where(instance, name),
                f"is set but type {now}; set type={int(member)} ({member.name}) or use a "
                "constructor such as StorageConfig.tos() / StorageConfig.s3_compatible()",
            )
    for member, name, _ in _CONFIG_FIELDS:
        if member == effective and getattr(instance, name) is None:
            fail(*where(instance, name), f"is required when type is {int(member)} ({member.name})")


@attrs.frozen(kw_only=True)
class StorageConfig(WireModel):
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

    # The validator on ``type`` runs after every field is set and checks the configs too.
    type: Union[StorageType, int, None] = attrs.field(
        default=None,
        converter=_storage_type_member,
        validator=_type_and_configs,
        metadata=wire("Type"),
    )
    tos_config: Optional[TosConfig] = attrs.field(
        default=None, metadata=wire("TosConfig", read=TosConfig._read)
    )
    vod_config: Optional[VodConfig] = attrs.field(
        default=None, metadata=wire("VodConfig", read=VodConfig._read)
    )
    custom_config: Optional[CustomConfig] = attrs.field(
        default=None, metadata=wire("CustomConfig", read=CustomConfig._read)
    )
    veimagex_config: Optional[VeImageXConfig] = attrs.field(
        default=None, metadata=wire("VeImageXConfig", read=VeImageXConfig._read)
    )

    @property
    def effective_type(self) -> StorageType:
        """``type``, or the service default (TOS) when unset."""
        return StorageType(self.type) if self.type is not None else StorageType.TOS

    @property
    def bucket(self) -> Optional[str]:
        """The bucket the files go to (TOS or custom store), if any."""
        if self.tos_config is not None:
            return self.tos_config.bucket
        if self.custom_config is not None:
            return self.custom_config.bucket
        return None

    @classmethod
    def tos(
        cls,
        *,
        account_id: str,
        bucket: str,
        region: Union[TosRegion, int, None] = TosRegion.CN_BEIJING,
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
        vendor: Union[Vendor, int] = Vendor.AMAZON_S3,
        bucket: str,
        access_key: str,
        secret_key: str,
        region: Optional[int] = None,
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
        region: Optional[int] = None,
        storage_class: Optional[int] = None,
        auto_set_file_extension: Optional[bool] = None,
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
        cls, *, account_id: str, service_id: str, region: Optional[int] = None
    ) -> StorageConfig:
        """Store on veImageX (snapshots only; not accepted by segmentation)."""
        return cls(
            type=StorageType.VEIMAGEX,
            veimagex_config=VeImageXConfig(
                account_id=account_id, service_id=service_id, region=region
            ),
        )
