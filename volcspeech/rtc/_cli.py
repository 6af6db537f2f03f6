"""``volcspeech rtc ...``: call the segmentation OpenAPI from the command line.

Credentials come from the environment (``VOLCENGINE_ACCESS_KEY`` /
``VOLCENGINE_SECRET_KEY`` / ``VOLCENGINE_SESSION_TOKEN``). Results are printed
as JSON; a custom store's keys are shown as ``***``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any, Callable

from ..errors import ValidationError

__all__ = ["register"]

_SECRET_KEYS = frozenset({"AccessKey", "SecretKey"})


def _masked(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: ("***" if k in _SECRET_KEYS else _masked(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _print(payload: Mapping[str, Any]) -> None:
    print(json.dumps(_masked(payload), ensure_ascii=False, indent=2))


def _read_request(path: str) -> Any:
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
    except OSError as exc:
        raise ValidationError(
            f"cannot read --request {path}: {exc.strerror or exc}", field="request"
        ) from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValidationError(f"--request {path} is not JSON: {exc}", field="request") from None


def _client(args: argparse.Namespace) -> Any:
    from ._client import RtcClient

    return RtcClient(region=args.region, endpoint=args.endpoint)


def _action(kind: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from ._requests import StartSegmentRequest, StopSegmentRequest, UpdateSegmentRequest

        model: Any = {
            "start": StartSegmentRequest,
            "update": UpdateSegmentRequest,
            "stop": StopSegmentRequest,
        }[kind]
        request = model.from_dict(_read_request(args.request))
        with _client(args) as client:
            method = getattr(client, f"{kind}_segment")
            result = method(request)
        _print({"Result": result.result, "RequestId": result.request_id})
        return 0

    return run


def _get_task(args: argparse.Namespace) -> int:
    with _client(args) as client:
        task = client.get_segment_task(args.app_id, args.room_id, args.task_id)
    _print({"SegmentTask": task.to_dict(), "RequestId": task.request_id})
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--region", default="cn-north-1", help="signing region (default cn-north-1)"
    )
    parser.add_argument(
        "--endpoint", default=None, help="base URL, e.g. http://127.0.0.1:8080 for the emulator"
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``rtc start-segment``, ``update-segment``, ``stop-segment`` and ``get-task``."""
    rtc = subparsers.add_parser(
        "rtc",
        help="RTC audio segmentation OpenAPI",
        description="Call the RTC segmentation OpenAPI; credentials come from "
        "$VOLCENGINE_ACCESS_KEY and $VOLCENGINE_SECRET_KEY.",
    )
    commands = rtc.add_subparsers(dest="rtc_command", metavar="COMMAND")

    def usage(args: argparse.Namespace) -> int:
        rtc.print_help()
        return 2

    rtc.set_defaults(handler=usage)
    for name, kind, text in (
        ("start-segment", "start", "start a segmentation task (StartSegment)"),
        ("update-segment", "update", "update a running task (UpdateSegment)"),
        ("stop-segment", "stop", "stop a task (StopSegment)"),
    ):
        parser = commands.add_parser(name, help=text, description=text)
        parser.add_argument(
            "--request",
            required=True,
            metavar="FILE",
            help="the request body as JSON (PascalCase, as documented); - reads stdin",
        )
        _common(parser)
        parser.set_defaults(handler=_action(kind))
    get = commands.add_parser(
        "get-task", help="show a task (GetSegmentTask)", description="show a task (GetSegmentTask)"
    )
    get.add_argument("--app-id", required=True)
    get.add_argument("--room-id", required=True)
    get.add_argument("--task-id", required=True)
    _common(get)
    get.set_defaults(handler=_get_task)
