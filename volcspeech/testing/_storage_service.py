"""The emulator's object store: where emulated segmentation tasks put their files.

In process: :meth:`StorageService.put`, :meth:`~StorageService.get`,
:meth:`~StorageService.keys`. Over HTTP: ``GET {emulator.url}/storage/{bucket}/{key}``
answers the object (``audio/wav`` for ``.wav`` keys) or 404.
"""

from __future__ import annotations

import threading
import urllib.parse

from ._protocol import EmulatorHost, EmulatorRequest, EmulatorResponse, Fault, host_ref

__all__ = ["StorageService"]

#: The path prefix the store answers on.
PREFIX = "/storage/"


class StorageService:
    """An in-memory bucket/key store served under ``/storage/``.

    Args:
        emulator: the emulator it belongs to.
    """

    name = "storage"

    def __init__(self, emulator: EmulatorHost) -> None:
        self._host = host_ref(emulator)
        self._lock = threading.Lock()
        self._objects: dict[str, dict[str, bytes]] = {}

    @property
    def emulator(self) -> EmulatorHost:
        """The emulator this service belongs to."""
        return self._host()

    # --- in process --------------------------------------------------------------

    def put(self, bucket: str, key: str, data: bytes) -> None:
        """Store an object (replacing one with the same key)."""
        if not bucket or not key:
            raise ValueError("bucket and key must be non-empty")
        with self._lock:
            self._objects.setdefault(bucket, {})[key] = bytes(data)

    def get(self, bucket: str, key: str) -> bytes | None:
        """An object's bytes, or ``None``."""
        with self._lock:
            return self._objects.get(bucket, {}).get(key)

    def keys(self, bucket: str) -> list[str]:
        """The keys in a bucket, sorted."""
        with self._lock:
            return sorted(self._objects.get(bucket, {}))

    def buckets(self) -> list[str]:
        """The buckets that hold objects, sorted."""
        with self._lock:
            return sorted(b for b, objects in self._objects.items() if objects)

    def url(self, bucket: str, key: str) -> str:
        """The object's URL on the running emulator."""
        quoted = urllib.parse.quote(key, safe="/-_.~")
        return f"{self.emulator.url}{PREFIX}{urllib.parse.quote(bucket, safe='')}/{quoted}"

    def clear(self) -> None:
        """Delete every object."""
        with self._lock:
            self._objects.clear()

    # --- the Service protocol ---------------------------------------------------------

    def claims(self, request: EmulatorRequest) -> bool:
        """Requests under ``/storage/``."""
        return request.path.startswith(PREFIX)

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        """Answer ``GET /storage/{bucket}/{key}``."""
        if request.method != "GET":
            return EmulatorResponse.json(
                405, {"error": "MethodNotAllowed", "message": "the store is read-only over HTTP"}
            )
        bucket, _, key = request.path[len(PREFIX) :].partition("/")
        data = self.get(bucket, key) if bucket and key else None
        if data is None:
            return EmulatorResponse.json(
                404, {"error": "NoSuchKey", "message": f"no object {key!r} in bucket {bucket!r}"}
            )
        kind = "audio/wav" if key.endswith(".wav") else "application/octet-stream"
        return EmulatorResponse(200, data, [("Content-Type", kind)])

    def fault_response(self, request: EmulatorRequest, fault: Fault) -> EmulatorResponse:
        """An injected fault as a JSON error."""
        status = fault.http_status or 500
        return EmulatorResponse.json(
            status, {"error": str(fault.code or status), "message": fault.message}, code=fault.code
        )
