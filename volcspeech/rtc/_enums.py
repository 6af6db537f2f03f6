"""The RTC segmentation enums, id rule and documented ranges (version 2023-11-01)."""

from __future__ import annotations

import enum
import re

__all__ = [
    "DURATION_RANGE",
    "ID_PATTERN",
    "MAX_IDLE_TIME_RANGE",
    "MAX_STREAMS",
    "S3Region",
    "SegmentTaskStatus",
    "StorageType",
    "StreamType",
    "TosRegion",
    "Vendor",
]

#: The documented rule for ``AppId``, ``BusinessId``, ``RoomId``, ``TaskId``,
#: ``Identifier`` and ``UserId``.
ID_PATTERN = r"[a-zA-Z0-9_@\-\.]{1,128}"
ID_RE = re.compile(ID_PATTERN)
ID_HELP = f"{ID_PATTERN} (letters, digits and _ @ - . ; 1 to 128 characters)"

#: ``MaxIdleTime`` range in seconds.
MAX_IDLE_TIME_RANGE = (1, 86400)
#: ``Duration`` range in seconds.
DURATION_RANGE = (1, 600)
#: At most this many streams in ``TargetStreams.StreamList``.
MAX_STREAMS = 17


class StorageType(enum.IntEnum):
    """``StorageConfig.Type``: where the files go. Segmentation takes TOS and CUSTOM only."""

    TOS = 0
    VOD = 1
    CUSTOM = 2
    VEIMAGEX = 3


class Vendor(enum.IntEnum):
    """``CustomConfig.Vendor``: the S3-compatible third-party store."""

    AMAZON_S3 = 0
    ALIYUN_OSS = 1
    HUAWEI_OBS = 2
    TENCENT_COS = 3
    QINIU_KODO = 4


class TosRegion(enum.IntEnum):
    """``TosConfig.Region`` numbers (vendor doc 6348/1167931)."""

    CN_BEIJING = 0
    CN_GUANGZHOU = 1
    CN_SHANGHAI = 2
    AP_SOUTHEAST_1 = 3


class S3Region(enum.IntEnum):
    """``CustomConfig.Region`` numbers for Amazon S3 (vendor doc 6348/1167931).

    Other vendors number their regions in their own tables; pass those as plain ints.
    """

    US_EAST_1 = 0
    US_EAST_2 = 1
    US_WEST_1 = 2
    US_WEST_2 = 3
    EU_WEST_1 = 4
    EU_WEST_2 = 5
    EU_WEST_3 = 6
    EU_CENTRAL_1 = 7
    AP_SOUTHEAST_1 = 8
    AP_SOUTHEAST_2 = 9
    AP_NORTHEAST_1 = 10
    AP_NORTHEAST_2 = 11
    SA_EAST_1 = 12
    CA_CENTRAL_1 = 13
    AP_SOUTH_1 = 14
    CN_NORTH_1 = 15
    CN_NORTHWEST_1 = 16
    US_GOV_EAST_1 = 17
    AP_EAST_1 = 18
    EU_SOUTH_1 = 19
    AP_NORTHEAST_3 = 20
    EU_NORTH_1 = 21
    ME_SOUTH_1 = 22
    US_GOV_WEST_1 = 23
    AF_SOUTH_1 = 24


class StreamType(enum.IntEnum):
    """``Stream.StreamType``: the user's normal stream or their screen share."""

    NORMAL = 0
    SCREEN = 1


class SegmentTaskStatus(enum.IntEnum):
    """``GetSegmentTask`` ``Status``."""

    UNKNOWN = 0
    NOT_STARTED = 1
    RUNNING = 2
    ENDED = 3
    FAILED = 4
