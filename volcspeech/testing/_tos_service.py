"""A TOS-compatible route for presigned uploads: ``emu.tos``.

It answers the presigned URLs the vendor's ``tos`` SDK makes for a *custom
domain* bound to one bucket (``TosClientV2(..., is_custom_domain=True)`` with
the emulator's URL as endpoint: ``http://127.0.0.1:<port>/<key>?X-Tos-...``),
since ``<bucket>.127.0.0.1`` does not resolve:

* ``PUT`` streams the body to a file under the emulator's state directory
  (never into memory) and answers 200 with an ``ETag``;
* ``GET`` streams the object back, or 404 ``NoSuchKey``.

It checks that the presigned query is complete, that ``X-Tos-Credential``
names the emulator's access key id, and that ``X-Tos-Date`` +
``X-Tos-Expires`` has not passed (403 ``AccessDenied`` / ``ExpiredToken``).
It does **not** recompute the TOS4 signature.
"""

from __future__ import annotations

import calendar
import hashlib
import os
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

from ._protocol import EmulatorHost, EmulatorRequest, EmulatorResponse, Fault, host_ref
from ._state import StateDir

__all__ = ["TosService"]

_REQUIRED = (
    "X-Tos-Algorithm",
    "X-Tos-Credential",
    "X-Tos-Date",
    "X-Tos-Expires",
    "X-Tos-SignedHeaders",
    "X-Tos-Signature",
)
_BLOCK = 1 << 20


def _error(status: int, code: str, message: str) -> EmulatorResponse:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
        f"<Message>{message}</Message></Error>"
    ).encode()
    return EmulatorResponse(status, body, [("Content-Type", "application/xml")], code)


class TosService:
    """Presigned PUT/GET of objects on a custom-domain TOS bucket, stored on disk.

    Attributes:
        bucket: the bucket the "custom domain" is bound to (informational:
            custom-domain URLs do not carry it).
        region: the region the SDK client should be made for.
    """

    name = "tos"

    def __init__(self, emulator: EmulatorHost, state: StateDir) -> None:
        self._host = host_ref(emulator)
        self._state = state
        self.bucket = "emulator-bucket"
        self.region = "cn-beijing"

    @property
    def emulator(self) -> EmulatorHost:
        """The emulator this service belongs to."""
        return self._host()

    def client(self) -> Any:
        """A ``tos.TosClientV2`` for this route (custom domain: the emulator's URL)."""
        import tos

        creds = self.emulator.credentials
        return tos.TosClientV2(
            creds.access_key_id,
            creds.secret_access_key,
            self.emulator.url,
            self.region,
            is_custom_domain=True,
            max_retry_count=0,
        )

    def object_path(self, key: str) -> str:
        """Where an object's bytes live (it may not exist)."""
        name = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return os.path.join(self._state.sub("tos-objects"), name)

    def keys_stored(self) -> int:
        """How many objects are stored."""
        return len(os.listdir(self._state.sub("tos-objects")))

    # --- the Service protocol ---------------------------------------------------------

    def claims(self, request: EmulatorRequest) -> bool:
        """Requests carrying a presigned TOS query."""
        return "X-Tos-Signature" in request.query

    def check(self, query: dict[str, str]) -> str | None:
        """Why a presigned query is refused (``None``: accepted)."""
        if any(name not in query for name in _REQUIRED):
            return "AccessDenied: incomplete presigned query"
        access_key_id = query["X-Tos-Credential"].split("/", 1)[0]
        if access_key_id != self.emulator.credentials.access_key_id:
            return "AccessDenied: unknown access key id"
        try:
            signed = calendar.timegm(time.strptime(query["X-Tos-Date"], "%Y%m%dT%H%M%SZ"))
            expires = int(query["X-Tos-Expires"])
        except ValueError:
            return "AccessDenied: malformed X-Tos-Date or X-Tos-Expires"
        if time.time() > signed + expires:
            return "ExpiredToken: the presigned URL has expired"
        return None

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        """PUT or GET one object."""
        problem = self.check(request.query)
        if problem is not None:
            code, _, message = problem.partition(": ")
            return _error(403, code, message)
        key = request.path.lstrip("/")
        if not key:
            return _error(400, "InvalidObjectName", "empty key")
        path = self.object_path(key)
        if request.method == "PUT":
            return self._put(request, path)
        if request.method in ("GET", "HEAD"):
            if not os.path.exists(path):
                return _error(404, "NoSuchKey", f"no object {key!r}")
            size = os.path.getsize(path)
            headers = [("Content-Length", str(size)), ("Content-Type", "application/octet-stream")]
            body: Any = b"" if request.method == "HEAD" else self._stream(path)
            return EmulatorResponse(200, body, headers)
        return _error(405, "MethodNotAllowed", request.method)

    def _put(self, request: EmulatorRequest, path: str) -> EmulatorResponse:
        if request.header("Content-Length") is None:
            return _error(411, "MissingContentLength", "PUT needs Content-Length")
        digest = hashlib.md5()  # noqa: S324 - an ETag, not security
        partial = path + ".part"
        with open(partial, "wb") as out:
            while block := request.body.read(_BLOCK):
                out.write(block)
                digest.update(block)
        os.replace(partial, path)
        return EmulatorResponse(200, b"", [("ETag", f'"{digest.hexdigest()}"')])

    @staticmethod
    def _stream(path: str) -> Iterator[bytes]:
        with open(path, "rb") as f:
            while block := f.read(_BLOCK):
                yield block

    def fault_response(self, request: EmulatorRequest, fault: Fault) -> EmulatorResponse:
        """An injected fault as a TOS XML error."""
        status = fault.http_status or 500
        return _error(status, str(fault.code or "InternalError"), fault.message)

    def key_of(self, url: str) -> str | None:
        """The object key of one of this route's URLs (``None`` for other URLs)."""
        parts = urllib.parse.urlsplit(url)
        query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        own = {f"{self.emulator.host}:{self.emulator.port}", f"localhost:{self.emulator.port}"}
        if parts.netloc not in own or "X-Tos-Signature" not in query:
            return None
        if self.check(query) is not None:
            return None
        return urllib.parse.unquote(parts.path).lstrip("/") or None
