"""The production webhook from the docs, served by ``uvicorn --workers 4``, takes the
emulator's shuffled and duplicated callbacks for three rooms (two tasks in one) and
produces each room's transcript once, equal to the ground truth."""

from __future__ import annotations

import concurrent.futures
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from volcspeech.rtc import SegmentControl, StartSegmentRequest, StorageConfig
from volcspeech.testing import Emulator, load_sample_room

ROOT = Path(__file__).resolve().parent.parent
APP_DIR = ROOT / "docs" / "examples"
APP_ID = "demo-app"
TASKS = [("room-1", "minutes"), ("room-1", "moderation"), ("room-2", "minutes"), ("room-3", "x")]
REDUNDANT_MS = 2000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def register_rooms(emu: Emulator) -> None:
    """The sample room's recordings and ground truth under three room ids."""
    room = load_sample_room()
    truth = {
        user: [
            {
                "text": u.text,
                "start_time": u.start_time,
                "end_time": u.end_time,
                "words": [
                    {"text": w.text, "start_time": w.start_time, "end_time": w.end_time}
                    for w in u.words
                ],
            }
            for u in track.utterances
        ]
        for user, track in room.tracks.items()
    }
    for room_id in sorted({r for r, _ in TASKS}):
        emu.rtc.register_room(
            APP_ID,
            room_id,
            {user: track.wav for user, track in room.tracks.items()},
            utterances=truth,
        )


def start_tasks(emu: Emulator) -> list[dict[str, Any]]:
    """Start every task; return the signed callbacks, shuffled, some twice."""
    emu.rtc.callback_options(shuffle=True, duplicate=0.5, seed=11)
    with emu.rtc.client() as rtc:
        for room_id, task_id in TASKS:
            rtc.start_segment(
                StartSegmentRequest(
                    app_id=APP_ID,
                    room_id=room_id,
                    task_id=task_id,
                    storage_config=StorageConfig.tos(account_id="2100000000", bucket="segments"),
                    duration=20,
                    control=SegmentControl(redundant_duration=REDUNDANT_MS),
                )
            )
    assert emu.rtc.wait_for_callbacks(timeout=30)
    return emu.rtc.take_callbacks()


@pytest.mark.slow
def test_four_uvicorn_workers_produce_each_room_once(tmp_path: Path) -> None:
    """Callbacks spread over 4 worker processes sharing a SQLite store give every room
    (and every task) its ground-truth transcript, produced exactly once."""
    pytest.importorskip("uvicorn")
    with Emulator() as emu:
        register_rooms(emu)
        callbacks = start_tasks(emu)
        port = free_port()
        creds = emu.credentials
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "VOLCENGINE_ECS_METADATA_DISABLED": "true",
            "VOLCSPEECH_APP_KEY": creds.app_key,
            "VOLCSPEECH_ACCESS_KEY": creds.access_key,
            "VOLCSPEECH_ASR_ENDPOINT": emu.asr.endpoint,
            "RTC_CALLBACK_SECRET": creds.callback_secret,
            "SEGMENT_BASE_URL": emu.url + "/storage",
            "ROOM_STORE": f"sqlite:///{tmp_path / 'rooms.db'}",
            "REDUNDANT_MS": str(REDUNDANT_MS),
            "TRANSCRIPTS_DIR": str(tmp_path / "transcripts"),
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "webhook_service:app",
                "--app-dir",
                str(APP_DIR),
                "--workers",
                "4",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            # Wait until at least two workers answer: the first one up would
            # otherwise take every connection while the others still import.
            deadline = time.monotonic() + 60
            ready: set[int] = set()
            while len(ready) < 2:
                try:
                    answer = requests.get(base + "/healthz", timeout=2)
                    answer.raise_for_status()
                    ready.add(answer.json()["pid"])
                except requests.RequestException:
                    assert server.poll() is None, server.stderr.read().decode()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, f"uvicorn workers up: {len(ready)}"
                time.sleep(0.05)

            def post(body: dict[str, Any]) -> tuple[int, str]:
                answer = requests.post(base + "/rtc/callback", json=body, timeout=30)
                return answer.status_code, answer.headers.get("X-Worker", "")

            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(post, callbacks))
            assert {status for status, _ in answers} == {200}
            assert len({pid for _, pid in answers}) >= 2  # really spread over workers

            finished = {}
            for room_id, task_id in TASKS:
                answer = requests.post(
                    f"{base}/rooms/{APP_ID}/{room_id}/{task_id}/finish", timeout=90
                )
                assert answer.status_code == 200, answer.status_code
                finished[(room_id, task_id)] = answer.json()
            again = requests.post(f"{base}/rooms/{APP_ID}/room-2/minutes/finish", timeout=30)
            assert again.status_code == 204  # produced once: any worker knows it is done
        finally:
            server.terminate()
            server.wait(30)
    files = sorted((tmp_path / "transcripts").glob("*.json"))
    produced = [json.loads(f.read_text("utf-8")) for f in files]
    assert sorted((t["room_id"], t["task_id"]) for t in produced) == sorted(TASKS)
    room = load_sample_room()
    truth = [(u.user_id, u.text) for u in room.utterances()]
    words = {user: [w.text for w in room.words(user)] for user in room.tracks}
    for t in produced:
        assert [(u["user_id"], u["text"]) for u in t["utterances"]] == truth
        got: dict[str, list[str]] = {}
        for u in t["utterances"]:
            got.setdefault(u["user_id"], []).extend(w["text"] for w in u["words"])
        assert got == words
        assert t["gaps"] == []
        assert t == finished[(t["room_id"], t["task_id"])]
