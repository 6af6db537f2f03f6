"""An RTC segment webhook for production: ``uvicorn webhook_service:app --workers 4``.

Every worker process builds its own transcriber; they share the rooms through
one store (SQLite on one host, Redis across hosts), so any worker can take any
callback and each room's transcript is produced once. Settings come from the
environment:

- ``VOLCSPEECH_APP_KEY`` / ``VOLCSPEECH_ACCESS_KEY`` (or ``VOLCSPEECH_API_KEY``):
  the speech credentials; ``VOLCSPEECH_ASR_ENDPOINT`` to point elsewhere.
- ``RTC_CALLBACK_SECRET``: the callback secret from the RTC console.
- ``SEGMENT_BASE_URL``: where segment files are fetched from (http(s)).
- ``ROOM_STORE``: ``sqlite:///path/rooms.db`` (default ``sqlite:///rooms.db``)
  or ``redis://host:6379/0``.
- ``REDUNDANT_MS``: the tasks' ``RedundantDuration`` in ms (default 0).
- ``ROOM_IDLE_TIMEOUT``: finish a room no callback touched for this long (s, default 600).
- ``TRANSCRIPTS_DIR``: where finished transcripts are written (default ``transcripts``).
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool

from volcspeech.asr import AsrClient
from volcspeech.errors import CallbackError
from volcspeech.pipeline import (
    RedisRoomStore,
    RoomKey,
    RoomStore,
    RoomTranscript,
    SegmentTranscriber,
    SQLiteRoomStore,
    base_url_resolver,
)

TRANSCRIPTS = Path(os.environ.get("TRANSCRIPTS_DIR", "transcripts"))


def make_store(url: str) -> RoomStore:
    """The room store named by ``ROOM_STORE``."""
    if url.startswith("sqlite:///"):
        return SQLiteRoomStore(url[len("sqlite:///") :])
    return RedisRoomStore(url)


def save(transcript: RoomTranscript) -> None:
    """on_room_finished: write the transcript (runs once per room, in one worker)."""
    TRANSCRIPTS.mkdir(parents=True, exist_ok=True)
    name = f"{transcript.app_id}.{transcript.room_id}.{transcript.task_id}.{uuid.uuid4().hex}"
    (TRANSCRIPTS / f"{name}.json").write_text(json.dumps(transcript.to_dict()), "utf-8")


def make_transcriber() -> SegmentTranscriber:
    endpoint = os.environ.get("VOLCSPEECH_ASR_ENDPOINT")
    asr = AsrClient(endpoint=endpoint) if endpoint else AsrClient()
    return SegmentTranscriber(
        asr,
        resolve_audio=base_url_resolver(os.environ["SEGMENT_BASE_URL"]),
        callback_secret=os.environ["RTC_CALLBACK_SECRET"],
        redundant_duration_ms=int(os.environ.get("REDUNDANT_MS", "0")),
        store=make_store(os.environ.get("ROOM_STORE", "sqlite:///rooms.db")),
        room_idle_timeout=float(os.environ.get("ROOM_IDLE_TIMEOUT", "600")),
        on_room_finished=save,
    )


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.transcriber = make_transcriber()
    yield
    app.state.transcriber.close()  # rooms stay in the store for the other workers


app = FastAPI(lifespan=lifespan)


@app.post("/rtc/callback")
async def rtc_callback(request: Request) -> Response:
    """RTC posts each callback here; answer quickly (RTC waits at most 5 s)."""
    body = await request.body()
    try:  # verification and the store write are quick; recognition runs on the workers
        await run_in_threadpool(app.state.transcriber.submit, body)
    except CallbackError:
        return Response(status_code=401)  # forged, tampered, stale or malformed
    return Response(status_code=200, headers={"X-Worker": str(os.getpid())})


@app.post("/rooms/{app_id}/{room_id}/{task_id}/finish")
async def finish_room(app_id: str, room_id: str, task_id: str) -> Response:
    """Finish a room now (e.g. after StopSegment); any worker can do it."""
    transcriber: SegmentTranscriber = app.state.transcriber
    try:
        transcript = await run_in_threadpool(
            transcriber.finish_room, RoomKey(app_id, room_id, task_id), timeout=60
        )
    except KeyError:
        return Response(status_code=404)
    except TimeoutError:
        return Response(status_code=202)  # finished when its last segment is done
    if transcript is None:
        return Response(status_code=204)  # already finished (here or in another worker)
    return Response(json.dumps(transcript.to_dict()), media_type="application/json")


@app.get("/healthz")
async def healthz() -> dict[str, int]:
    return {"pid": os.getpid()}
