"""Ready-made ``resolve_audio`` callables: where a segment's audio can be fetched from.

Each is a small attrs class, so it pickles (for process pools and Dask) as
its configuration. One built with literal keys or a live SDK client refuses
to pickle: a secret never travels in a pickle. Every resolver returns an
``http(s)://`` URL and refuses object keys with ``..`` segments.

The TOS and S3 resolvers import their SDKs only when first used (extras
``volcspeech[tos]`` and ``volcspeech[s3]``).
"""

from __future__ import annotations

import os
import threading
import urllib.parse
from typing import TYPE_CHECKING, Any, Optional

import attrs

from ..errors import ConfigurationError, ValidationError

if TYPE_CHECKING:  # pragma: no cover
    from ..rtc import Segment

__all__ = [
    "BaseUrlResolver",
    "S3PresignedResolver",
    "TosPresignedResolver",
    "base_url_resolver",
    "s3_presigned_resolver",
    "tos_presigned_resolver",
]

#: Presigned URLs live this long by default (seconds); recognition starts at once.
DEFAULT_EXPIRES = 3600


def _location(segment: Segment) -> tuple[str, str]:
    key = segment.object_key
    if not key:
        raise ValidationError(
            f"segment {segment.room_id}/{segment.user_id} seq={segment.sequence} has no "
            "object key to fetch its audio from",
            field="object_key",
        )
    parts = key.replace("\\", "/").split("/")
    if any(p in ("..", ".") for p in parts) or "\x00" in key:
        raise ValidationError(
            f"segment {segment.room_id}/{segment.user_id} seq={segment.sequence}: an object "
            "key with '.' or '..' segments (or NUL) is refused",
            field="object_key",
        )
    return segment.bucket or "", key


def _http_url(value: str, field: str) -> str:
    try:
        parts = urllib.parse.urlsplit(value)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValidationError(f"{field} must be an http(s):// URL", field=field)
    return value


def _check_expires(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 7 * 86400:
        raise ConfigurationError(
            f"expires must be an integer of seconds in 1..604800, got {value!r}"
        )


@attrs.frozen
class BaseUrlResolver:
    """Joins a base URL with each segment's bucket and object key (picklable).

    When the callback carries an ``http(s)`` URL, that URL is used; any other
    URL is refused.

    Attributes:
        base_url: an ``http(s)://`` prefix.
        template: the path after the base, with ``{bucket}`` and ``{object_key}``.
    """

    base_url: str
    template: str = "{bucket}/{object_key}"

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.base_url, str):
            raise ConfigurationError("base_url must be an http:// or https:// URL string")
        scheme = urllib.parse.urlsplit(self.base_url).scheme
        if scheme not in ("http", "https"):
            raise ConfigurationError(f"base_url must be http:// or https://, got {self.base_url!r}")
        try:
            self.template.format(bucket="b", object_key="k")
        except (KeyError, IndexError, ValueError, AttributeError) as exc:
            raise ConfigurationError(
                f"template may use only {{bucket}} and {{object_key}}: {self.template!r}"
            ) from exc

    def __call__(self, segment: Segment) -> str:
        """The segment's URL.

        Raises:
            ValidationError: no object key, a ``..`` key, or a non-http(s) callback URL.
        """
        if getattr(segment, "url", None):
            return _http_url(str(segment.url), "url")
        bucket, key = _location(segment)
        path = self.template.format(
            bucket=urllib.parse.quote(bucket, safe=""),
            object_key=urllib.parse.quote(key, safe="/"),
        )
        return f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"


def base_url_resolver(base_url: str, *, template: str = "{bucket}/{object_key}") -> BaseUrlResolver:
    """Join a base URL with each segment's bucket and object key.

    For a public (or CDN-fronted) bucket, or the emulator's storage route.
    When the callback already carries an http(s) URL, that URL is used.

    Args:
        base_url: an ``http(s)://`` prefix, e.g. ``"https://cdn.example.com/segments"``.
        template: the path after the base, with ``{bucket}`` and ``{object_key}``
            (both percent-encoded; ``/`` in the key is kept).

    Returns:
        A picklable callable ``segment -> URL``.

    Raises:
        ConfigurationError: ``base_url`` is not http(s) or ``template`` is unusable.
    """
    return BaseUrlResolver(base_url, template)


@attrs.define
class TosPresignedResolver:
    """Presigned GET URLs for segments stored in TOS (the vendor's ``tos`` SDK).

    Built without a client or literal keys, it reads ``TOS_ACCESS_KEY`` and
    ``TOS_SECRET_KEY`` (and ``TOS_SECURITY_TOKEN``) where it runs, and pickles
    as its configuration. Built with keys or a client, it refuses to pickle.
    """

    endpoint: Optional[str] = None
    region: Optional[str] = None
    bucket: Optional[str] = None
    expires: int = DEFAULT_EXPIRES
    access_key_id: Optional[str] = attrs.field(default=None, repr=False)
    secret_access_key: Optional[str] = attrs.field(default=None, repr=False)
    client: Any = attrs.field(default=None, repr=False, eq=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False, eq=False, init=False)

    def __getstate__(self) -> dict[str, Any]:
        if self.client is not None or self.secret_access_key:
            raise ConfigurationError(
                "a TosPresignedResolver given a client or literal keys does not pickle (a "
                "secret never travels in a pickle); build it with endpoint= and region= only "
                "and set TOS_ACCESS_KEY / TOS_SECRET_KEY in the workers"
            )
        return {
            "endpoint": self.endpoint,
            "region": self.region,
            "bucket": self.bucket,
            "expires": self.expires,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def _client(self) -> Any:
        import tos

        with self._lock:
            if self.client is None:
                ak = self.access_key_id or os.environ.get("TOS_ACCESS_KEY")
                sk = self.secret_access_key or os.environ.get("TOS_SECRET_KEY")
                if not (ak and sk):
                    raise ConfigurationError(
                        "tos_presigned_resolver needs keys: pass them, or set TOS_ACCESS_KEY and "
                        "TOS_SECRET_KEY"
                    )
                token = None if self.secret_access_key else os.environ.get("TOS_SECURITY_TOKEN")
                self.client = tos.TosClientV2(
                    ak, sk, self.endpoint, self.region, security_token=token
                )
            return self.client

    def __call__(self, segment: Segment) -> str:
        """A presigned URL of the segment's object."""
        import tos

        seg_bucket, key = _location(segment)
        out = self._client().pre_signed_url(
            tos.HttpMethodType.Http_Method_Get, seg_bucket or self.bucket, key, expires=self.expires
        )
        return _http_url(str(out.signed_url), "presigned URL")


def tos_presigned_resolver(
    *,
    client: Any = None,
    access_key_id: Optional[str] = None,
    secret_access_key: Optional[str] = None,
    endpoint: Optional[str] = None,
    region: Optional[str] = None,
    bucket: Optional[str] = None,
    expires: int = DEFAULT_EXPIRES,
) -> TosPresignedResolver:
    """Presigned GET URLs for segments stored in TOS, made with the vendor's ``tos`` SDK.

    Args:
        client: a ``tos.TosClientV2``; or give the endpoint and region (and
            the key pair, or ``TOS_ACCESS_KEY`` / ``TOS_SECRET_KEY`` in the
            environment where it runs).
        access_key_id: the TOS access key id (when no client is given).
        secret_access_key: the TOS secret key (when no client is given).
        endpoint: e.g. ``"tos-cn-beijing.volces.com"``.
        region: e.g. ``"cn-beijing"``.
        bucket: the bucket, when the callback does not name one.
        expires: URL lifetime in seconds.

    Raises:
        ConfigurationError: ``tos`` is not installed (``pip install volcspeech[tos]``),
            or neither a client nor an endpoint and region are given.
    """
    try:
        import tos  # noqa: F401
    except ImportError as exc:
        raise ConfigurationError(
            "tos_presigned_resolver needs the tos package: pip install 'volcspeech[tos]'"
        ) from exc
    _check_expires(expires)
    if client is None and not (endpoint and region):
        raise ConfigurationError(
            "tos_presigned_resolver needs client= or endpoint and region (with access_key_id "
            "and secret_access_key, or TOS_ACCESS_KEY / TOS_SECRET_KEY in the environment)"
        )
    if client is None and bool(access_key_id) != bool(secret_access_key):
        raise ConfigurationError("give both access_key_id and secret_access_key, or neither")
    return TosPresignedResolver(
        endpoint, region, bucket, expires, access_key_id, secret_access_key, client
    )


#: boto3 client arguments that are secrets: a resolver given one does not pickle.
_S3_SECRETS = ("aws_secret_access_key", "aws_session_token")


@attrs.define
class S3PresignedResolver:
    """Presigned GET URLs for segments in an S3-compatible store (``boto3``).

    Pickles as its ``boto3.client("s3", ...)`` arguments when they hold no
    secret (boto3 then finds credentials where it runs); refuses otherwise.
    """

    bucket: Optional[str] = None
    expires: int = DEFAULT_EXPIRES
    client_kwargs: dict[str, Any] = attrs.field(factory=dict, repr=False)
    client: Any = attrs.field(default=None, repr=False, eq=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False, eq=False, init=False)

    def __getstate__(self) -> dict[str, Any]:
        given_client = self.client is not None and not self.client_kwargs
        if given_client or any(self.client_kwargs.get(k) for k in _S3_SECRETS):
            raise ConfigurationError(
                "an S3PresignedResolver given a client or a secret key does not pickle (a "
                "secret never travels in a pickle); pass endpoint_url/region_name only and let "
                "boto3 find credentials in the workers (AWS_ACCESS_KEY_ID, ...)"
            )
        return {"bucket": self.bucket, "expires": self.expires, "client_kwargs": self.client_kwargs}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def _client(self) -> Any:
        with self._lock:
            if self.client is None:
                try:
                    import boto3
                except ImportError as exc:
                    raise ConfigurationError(
                        "s3_presigned_resolver needs boto3: pip install 'volcspeech[s3]'"
                    ) from exc
                self.client = boto3.client("s3", **self.client_kwargs)
            return self.client

    def __call__(self, segment: Segment) -> str:
        """A presigned URL of the segment's object."""
        seg_bucket, key = _location(segment)
        url = self._client().generate_presigned_url(
            "get_object",
            Params={"Bucket": seg_bucket or self.bucket, "Key": key},
            ExpiresIn=self.expires,
        )
        return _http_url(str(url), "presigned URL")


def s3_presigned_resolver(
    *,
    client: Any = None,
    bucket: Optional[str] = None,
    expires: int = DEFAULT_EXPIRES,
    **client_kwargs: Any,
) -> S3PresignedResolver:
    """Presigned GET URLs for segments in an S3-compatible store, made with ``boto3``.

    Args:
        client: a boto3 S3 client; or pass ``boto3.client("s3", ...)`` keyword
            arguments (``endpoint_url``, ``region_name``, ``aws_access_key_id``, ...).
        bucket: the bucket, when the callback does not name one.
        expires: URL lifetime in seconds.

    Raises:
        ConfigurationError: ``boto3`` is not installed (``pip install volcspeech[s3]``).
    """
    _check_expires(expires)
    resolver = S3PresignedResolver(bucket, expires, dict(client_kwargs), client)
    if client is None:
        resolver._client()  # fail now, not at the first segment, when boto3 is missing
    return resolver
