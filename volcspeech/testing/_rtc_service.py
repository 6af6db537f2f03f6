"""Emulated rtc service (being written; see its issue)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._emulator import EmulatorRequest, EmulatorResponse, Fault

if TYPE_CHECKING:  # pragma: no cover
    from ._emulator import Emulator


class RtcService:
    """Emulated rtc service."""

    name = "rtc"

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def claims(self, request: EmulatorRequest) -> bool:
        """Not yet implemented: claims nothing."""
        return False

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        """Not yet implemented."""
        return EmulatorResponse.json(501, {"error": "not implemented"})

    def fault_response(self, request: EmulatorRequest, fault: Fault) -> EmulatorResponse:
        """Not yet implemented."""
        return EmulatorResponse.json(fault.http_status or 500, {"error": fault.message})
