"""Uploaders: turn local audio into a URL the standard API can fetch.

The standard (submit/query) API takes audio by URL. An *uploader* is any
object with ``upload(source) -> url``; :meth:`AsrClient.recognize` and
:meth:`AsrClient.submit` call it for local audio beyond the inline limit.

Two ship here, both "presigned PUT, then presigned GET": the vendor SDK signs
a PUT URL locally (no traffic), volcspeech streams the file to it through its
own transport (constant memory, ``Content-Length`` known, retried from the
file's start on transient failures, bounded by a deadline), and the SDK then
signs a GET URL that the service fetches:

* :class:`TosUploader` for Volcengine TOS (the ``tos`` package:
  ``pip install 'volcspeech[tos]'``);
* :class:`S3Uploader` for S3 and S3-compatible stores (``boto3``:
  ``pip install 'volcspeech[s3]'``).
"""

from __future__ import annotations

import os
import re
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any, Protocol, Union, runtime_checkable

from .. import errors
from .._log import redact
from .._messages import HttpRequest, HttpResponse, StreamBody, Timeout
from .._retry import RetryPolicy
from .._transport import CallSettings, Transport, send
from ._audio import CHUNK_BYTES, AudioSource

__all__ = [
    "DEFAULT_UPLOAD_DEADLINE",
    "DEFAULT_URL_EXPIRES",
    "PresignedUploader",
    "S3Uploader",
    "TosUploader",
    "UploadSource",
    "Uploader",
]

#: Seconds a presigned URL stays valid by default (the service must fetch the
#: audio within it; standard tasks usually start within minutes).
DEFAULT_URL_EXPIRES = 6 * 60 * 60
#: Seconds one upload may take in all (every attempt) by default.
DEFAULT_UPLOAD_DEADLINE = 3600.0

_QUERY = re.compile(r"\?[^\s'\")]+")
_CONTENT_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg", "ogg": "audio/ogg"}


class UploadSource:
    """Local audio handed to an uploader: its size, a suggested name, its bytes.

    Attributes:
        name: a suggested object name (the file's base name, or ``audio.<format>``).
        size: the length in bytes.
        content_type: ``audio/wav``, ``audio/mpeg``, ``audio/ogg`` or
            ``application/octet-stream``.
        description: how messages name it (a path or a kind, never content).
    """

    def __init__(self, source: AudioSource, audio_format: str | None) -> None:
        self._source = source
        self.size = source.size
        self.description = source.description
        path = getattr(source, "path", None)
        if isinstance(path, str):
            self.name = os.path.basename(path) or "audio"
        else:
            self.name = f"audio.{audio_format or 'bin'}"
        self.content_type = _CONTENT_TYPES.get(audio_format or "", "application/octet-stream")

    def chunks(self, chunk_size: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The bytes from the start, in blocks (each valid until the next is requested)."""
        # memoryview blocks: a transport sends them like bytes.
        return self._source.iter_chunks(chunk_size)  # type: ignore[return-value]

    def open(self) -> Any:
        """A fresh seekable binary reader of the bytes, at position 0 (close it)."""
        return self._source.open()

    def __repr__(self) -> str:
        return f"<UploadSource {self.description} {self.size} bytes>"


@runtime_checkable
class Uploader(Protocol):
    """Anything with ``upload(source) -> url``."""

    def upload(self, source: UploadSource) -> str:
        """Store ``source`` and return an ``http(s)://`` URL the service can GET."""
        ...


def _where(url: str) -> str:
    """A URL without its query (presigned signatures stay out of messages)."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


class PresignedUploader:
    """The shared half of :class:`TosUploader` and :class:`S3Uploader`.

    Subclasses implement :meth:`presign_put` and :meth:`presign_get`.

    Args:
        bucket: the bucket to upload to.
        prefix: the key prefix; each upload gets ``prefix + <uuid>/<name>``.
        expires: seconds the presigned URLs stay valid.
        timeout: per-attempt timeouts of the PUT.
        retry: the retry policy of the PUT.
        deadline: seconds one upload may take in all.
        transport: a transport (``HttpRequest -> HttpResponse``) for the PUT;
            volcspeech's ``requests`` transport by default.
    """

    #: The storage's name, for messages.
    storage = "object storage"

    def __init__(
        self,
        *,
        bucket: str,
        prefix: str = "volcspeech/",
        expires: int = DEFAULT_URL_EXPIRES,
        timeout: Union[Timeout, float, tuple[float, float], None] = None,
        retry: RetryPolicy | None = None,
        deadline: float = DEFAULT_UPLOAD_DEADLINE,
        transport: Transport | None = None,
    ) -> None:
        if not isinstance(bucket, str) or not bucket:
            raise errors.ConfigurationError(
                f"{type(self).__name__}: bucket must be a non-empty str"
            )
        if not isinstance(prefix, str):
            raise errors.ConfigurationError(f"{type(self).__name__}: prefix must be a str")
        if isinstance(expires, bool) or not isinstance(expires, int) or expires < 1:
            raise errors.ConfigurationError(
                f"{type(self).__name__}: expires must be a positive int of seconds, got {expires!r}"
            )
        self.bucket = bucket
        self.prefix = prefix
        self.expires = expires
        self._settings = CallSettings(
            timeout=Timeout.coerce(timeout),
            retry=RetryPolicy.resolve(None, retry),
            deadline=float(deadline),
        )
        self._transport = transport
        self._owns_transport = transport is None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(bucket={self.bucket!r}, prefix={self.prefix!r})"

    # --- for subclasses ----------------------------------------------------------

    def presign_put(self, key: str, content_type: str) -> str:
        """A presigned PUT URL for ``key``."""
        raise NotImplementedError

    def presign_get(self, key: str) -> str:
        """A presigned GET URL for ``key``."""
        raise NotImplementedError

    # --- the upload ---------------------------------------------------------------

    def key_for(self, source: UploadSource) -> str:
        """The object key of an upload: ``prefix + <uuid4 hex>/<name>``."""
        return f"{self.prefix}{uuid.uuid4().hex}/{source.name}"

    def _http(self) -> Transport:
        if self._transport is None:
            from .._http import RequestsTransport

            self._transport = RequestsTransport()
        return self._transport

    def upload(self, source: UploadSource) -> str:
        """Stream ``source`` to a presigned PUT URL; return a presigned GET URL.

        Raises:
            ConfigurationError: the SDK could not sign (bad settings).
            APIError: the store refused the PUT (e.g. ``AuthenticationError``
                for 401/403); the message names the bucket and key, never the signature.
            TransportError: no answer (after retries).
        """
        key = self.key_for(source)
        try:
            put_url = self.presign_put(key, source.content_type)
            get_url = self.presign_get(key)
        except errors.VolcSpeechError:
            raise
        except Exception as exc:  # the SDK's own errors: a settings problem
            raise errors.ConfigurationError(
                f"{type(self).__name__} could not presign {self.bucket}/{key}: "
                f"{type(exc).__name__}: {redact(str(getattr(exc, 'message', '') or exc))[:200]}"
            ) from None
        headers = {"Content-Type": source.content_type}
        body = StreamBody(source.size, lambda: source.chunks(), source.description)
        request = HttpRequest("PUT", put_url, headers=headers, body=body)
        where = f"{self.storage} {self.bucket}/{key} ({_where(put_url)})"

        def read(response: HttpResponse) -> None:
            if 200 <= response.status < 300:
                return
            cls = errors.asr_error_class(None, response.status)
            excerpt = response.body[:200].decode("utf-8", "replace")
            raise cls(
                f"uploading {source.description} to {where} failed: HTTP {response.status} "
                f"{excerpt}".rstrip(),
                code=response.status,
                http_status=response.status,
            )

        try:
            send(
                self._http(),
                lambda: request,
                read,
                settings=self._settings,
                operation="asr.upload",
            )
        except errors.TransportError as exc:
            # A connection error may quote the URL, and its query holds the
            # presigned credentials (a security token with STS keys).
            rebuild, args = exc.__reduce__()[:2]
            raise rebuild(args[0], _QUERY.sub("?<query hidden>", args[1]), *args[2:]) from None
        return get_url

    def close(self) -> None:
        """Close the transport if the uploader made it."""
        if self._owns_transport and self._transport is not None:
            close = getattr(self._transport, "close", None)
            if close is not None:
                close()
            self._transport = None

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TosUploader(PresignedUploader):
    """Uploads to Volcengine TOS with presigned URLs made by the ``tos`` SDK.

    Args:
        bucket: the bucket.
        client: a ``tos.TosClientV2``; or give ``access_key_id``,
            ``secret_access_key``, ``endpoint`` and ``region``.
        access_key_id: the TOS access key id (when no client is given).
        secret_access_key: the TOS secret key (never shown in reprs or errors).
        endpoint: e.g. ``"tos-cn-beijing.volces.com"``.
        region: e.g. ``"cn-beijing"``.
        **kwargs: :class:`PresignedUploader` settings (``prefix``, ``expires``, ...).

    Raises:
        ConfigurationError: ``tos`` is not installed, or neither a client nor keys are given.
    """

    storage = "TOS"

    def __init__(
        self,
        *,
        bucket: str,
        client: Any = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        endpoint: str | None = None,
        region: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(bucket=bucket, **kwargs)
        try:
            import tos
        except ImportError:
            raise errors.ConfigurationError(
                "TosUploader needs the tos package: pip install 'volcspeech[tos]'"
            ) from None
        if client is None:
            if not (access_key_id and secret_access_key and endpoint and region):
                raise errors.ConfigurationError(
                    "TosUploader needs client= or access_key_id, secret_access_key, endpoint "
                    "and region"
                )
            client = tos.TosClientV2(access_key_id, secret_access_key, endpoint, region)
        self._tos = tos
        self._client = client

    def presign_put(self, key: str, content_type: str) -> str:
        """A presigned TOS PUT URL."""
        out = self._client.pre_signed_url(
            self._tos.HttpMethodType.Http_Method_Put, self.bucket, key, expires=self.expires
        )
        return str(out.signed_url)

    def presign_get(self, key: str) -> str:
        """A presigned TOS GET URL."""
        out = self._client.pre_signed_url(
            self._tos.HttpMethodType.Http_Method_Get, self.bucket, key, expires=self.expires
        )
        return str(out.signed_url)


class S3Uploader(PresignedUploader):
    """Uploads to S3 or an S3-compatible store with presigned URLs made by ``boto3``.

    Args:
        bucket: the bucket.
        client: a boto3 S3 client; or pass ``boto3.client("s3", ...)`` keyword
            arguments as ``client_kwargs`` (``endpoint_url``, ``region_name``, ...).
        client_kwargs: arguments for ``boto3.client("s3", ...)`` when no client is given.
        **kwargs: :class:`PresignedUploader` settings (``prefix``, ``expires``, ...).

    Raises:
        ConfigurationError: ``boto3`` is not installed.
    """

    storage = "S3"

    def __init__(
        self,
        *,
        bucket: str,
        client: Any = None,
        client_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(bucket=bucket, **kwargs)
        if client is None:
            try:
                import boto3
            except ImportError:
                raise errors.ConfigurationError(
                    "S3Uploader needs boto3: pip install 'volcspeech[s3]'"
                ) from None
            client = boto3.client("s3", **(client_kwargs or {}))
        self._client = client

    def presign_put(self, key: str, content_type: str) -> str:
        """A presigned S3 PUT URL (the content type is signed too)."""
        return str(
            self._client.generate_presigned_url(
                "put_object",
                Params={"Bucket": self.bucket, "Key": key, "ContentType": content_type},
                ExpiresIn=self.expires,
            )
        )

    def presign_get(self, key: str) -> str:
        """A presigned S3 GET URL."""
        return str(
            self._client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=self.expires
            )
        )
