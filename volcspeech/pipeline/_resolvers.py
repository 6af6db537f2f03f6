"""Ready-made ``resolve_audio`` callables: where a segment's audio can be fetched from.

The TOS and S3 resolvers import their SDKs only when built (extras
``volcspeech[tos]`` and ``volcspeech[s3]``).
"""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, Any, Callable, Optional

from ..errors import ConfigurationError, ValidationError

if TYPE_CHECKING:  # pragma: no cover
    from ..rtc import Segment

__all__ = ["base_url_resolver", "s3_presigned_resolver", "tos_presigned_resolver"]

#: Presigned URLs live this long by default (seconds); recognition starts at once.
DEFAULT_EXPIRES = 3600


def _location(segment: Segment) -> tuple[str, str]:
    if not segment.object_key:
        raise ValidationError(
            f"segment {segment.room_id}/{segment.user_id} seq={segment.sequence} has no "
            "object key to fetch its audio from",
            field="object_key",
        )
    return segment.bucket or "", segment.object_key


def base_url_resolver(
    base_url: str, *, template: str = "{bucket}/{object_key}"
) -> Callable[[Segment], str]:
    """Join a base URL with each segment's bucket and object key.

    For a public (or CDN-fronted) bucket, or the emulator's storage route.
    When the callback already carries a URL, that URL is used.

    Args:
        base_url: an ``http(s)://`` prefix, e.g. ``"https://cdn.example.com/segments"``.
        template: the path after the base, with ``{bucket}`` and ``{object_key}``
            (both percent-encoded; ``/`` in the key is kept).

    Returns:
        A callable ``segment -> URL``.

    Raises:
        ConfigurationError: ``base_url`` is not http(s) or ``template`` is unusable.
    """
    scheme = urllib.parse.urlsplit(base_url).scheme
    if scheme not in ("http", "https"):
        raise ConfigurationError(f"base_url must be http:// or https://, got {base_url!r}")
    try:
        template.format(bucket="b", object_key="k")
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigurationError(
            f"template may use only {{bucket}} and {{object_key}}: {template!r}"
        ) from exc
    base = base_url.rstrip("/")

    def resolve(segment: Segment) -> str:
        if getattr(segment, "url", None):
            return str(segment.url)
        bucket, key = _location(segment)
        path = template.format(
            bucket=urllib.parse.quote(bucket, safe=""),
            object_key=urllib.parse.quote(key, safe="/"),
        )
        return f"{base}/{path.lstrip('/')}"

    return resolve


def tos_presigned_resolver(
    *,
    client: Any = None,
    access_key_id: Optional[str] = None,
    secret_access_key: Optional[str] = None,
    endpoint: Optional[str] = None,
    region: Optional[str] = None,
    bucket: Optional[str] = None,
    expires: int = DEFAULT_EXPIRES,
) -> Callable[[Segment], str]:
    """Presigned GET URLs for segments stored in TOS, made with the vendor's ``tos`` SDK.

    Args:
        client: a ``tos.TosClientV2``; or give the key pair, endpoint and region.
        access_key_id: the TOS access key id (when no client is given).
        secret_access_key: the TOS secret key (when no client is given).
        endpoint: e.g. ``"tos-cn-beijing.volces.com"``.
        region: e.g. ``"cn-beijing"``.
        bucket: the bucket, when the callback does not name one.
        expires: URL lifetime in seconds.

    Raises:
        ConfigurationError: ``tos`` is not installed (``pip install volcspeech[tos]``),
            or neither a client nor keys are given.
    """
    try:
        import tos
    except ImportError as exc:
        raise ConfigurationError(
            "tos_presigned_resolver needs the tos package: pip install 'volcspeech[tos]'"
        ) from exc
    if client is None:
        if not (access_key_id and secret_access_key and endpoint and region):
            raise ConfigurationError(
                "tos_presigned_resolver needs client= or access_key_id, secret_access_key, "
                "endpoint and region"
            )
        client = tos.TosClientV2(access_key_id, secret_access_key, endpoint, region)

    def resolve(segment: Segment) -> str:
        seg_bucket, key = _location(segment)
        out = client.pre_signed_url(
            tos.HttpMethodType.Http_Method_Get, seg_bucket or bucket, key, expires=expires
        )
        return str(out.signed_url)

    return resolve


def s3_presigned_resolver(
    *,
    client: Any = None,
    bucket: Optional[str] = None,
    expires: int = DEFAULT_EXPIRES,
    **client_kwargs: Any,
) -> Callable[[Segment], str]:
    """Presigned GET URLs for segments in an S3-compatible store, made with ``boto3``.

    Args:
        client: a boto3 S3 client; or pass ``boto3.client("s3", ...)`` keyword
            arguments (``endpoint_url``, ``region_name``, ``aws_access_key_id``, ...).
        bucket: the bucket, when the callback does not name one.
        expires: URL lifetime in seconds.

    Raises:
        ConfigurationError: ``boto3`` is not installed (``pip install volcspeech[s3]``).
    """
    if client is None:
        try:
            import boto3
        except ImportError as exc:
            raise ConfigurationError(
                "s3_presigned_resolver needs boto3: pip install 'volcspeech[s3]'"
            ) from exc
        client = boto3.client("s3", **client_kwargs)

    def resolve(segment: Segment) -> str:
        seg_bucket, key = _location(segment)
        url = client.generate_presigned_url(
            "get_object", Params={"Bucket": seg_bucket or bucket, "Key": key}, ExpiresIn=expires
        )
        return str(url)

    return resolve
