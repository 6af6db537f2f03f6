"""The RTC request models: validation, exact bodies, round trips, secrets kept out of sight."""

from __future__ import annotations

import contextlib
import json
import pickle
import re
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from volcspeech.errors import ValidationError
from volcspeech.rtc import (
    CustomConfig,
    RedundantDurationUnitWarning,
    S3Region,
    SegmentControl,
    SegmentTask,
    SegmentTaskStatus,
    StartSegmentRequest,
    StopSegmentRequest,
    StorageConfig,
    StorageType,
    Stream,
    StreamType,
    TargetStreams,
    TosConfig,
    TosRegion,
    UpdateSegmentRequest,
    VeImageXConfig,
    Vendor,
    VodConfig,
)

# The request example of vendor doc 6348/1188212, copied verbatim.
SEED_EXAMPLE = Path(__file__).parent / "fixtures" / "rtc" / "start_segment_example.json"

SECRET = "TOP-SECRET-VALUE-42"


def _seed_example() -> dict[str, Any]:
    """The request example of the vendor page, with its masking asterisks replaced."""
    text = SEED_EXAMPLE.read_text(encoding="utf-8")
    # The vendor page masks ids with "****", which the documented ID pattern refuses.
    return json.loads(text.replace("****", "0000"))  # type: ignore[no-any-return]


def _tos() -> StorageConfig:
    return StorageConfig.tos(account_id="2100000000", bucket="segments")


def _start(**overrides: Any) -> StartSegmentRequest:
    kwargs: dict[str, Any] = {
        "app_id": "app1",
        "room_id": "room1",
        "task_id": "task1",
        "storage_config": _tos(),
    }
    kwargs.update(overrides)
    return StartSegmentRequest(**kwargs)


def test_seed_example_round_trips_with_control_at_top_level() -> None:
    """The vendor's example reads, its nested Control moves to the top level, and reads back."""
    example = _seed_example()
    assert "Control" in example["StorageConfig"]  # the doc's misplacement
    with pytest.warns(RedundantDurationUnitWarning, match="is 2"):  # the example sends 2
        request = StartSegmentRequest.from_dict(example)
    body = request.to_dict()
    assert body["Control"] == {
        "Align": True,
        "Mixed": True,
        "IgnoreSilence": True,
        "RedundantDuration": 2,
    }
    assert "Control" not in body["StorageConfig"]
    expected = dict(example)
    expected["StorageConfig"] = {
        k: v for k, v in example["StorageConfig"].items() if k != "Control"
    }
    expected["Control"] = example["StorageConfig"]["Control"]
    assert body == expected
    assert list(body) == [
        "AppId",
        "BusinessId",
        "RoomId",
        "TaskId",
        "MaxIdleTime",
        "TargetStreams",
        "Duration",
        "StorageConfig",
        "Control",
    ]
    with pytest.warns(RedundantDurationUnitWarning):
        assert StartSegmentRequest.from_dict(body) == request


def test_from_dict_refuses_two_different_controls() -> None:
    """A nested and a top-level Control that disagree are refused."""
    example = _seed_example()
    example["Control"] = {"Align": False}
    with pytest.raises(ValidationError, match="both at the top level") as info:
        StartSegmentRequest.from_dict(example)
    assert info.value.field == "control"


def test_minimal_body_omits_unset_fields() -> None:
    """Only the required fields and the set ones appear in the body."""
    assert _start().to_dict() == {
        "AppId": "app1",
        "RoomId": "room1",
        "TaskId": "task1",
        "StorageConfig": {
            "Type": 0,
            "TosConfig": {"AccountId": "2100000000", "Region": 0, "Bucket": "segments"},
        },
    }


def test_full_body() -> None:
    """Every field serializes under its documented PascalCase name."""
    request = _start(
        business_id="biz",
        max_idle_time=200,
        target_streams=[
            Stream("u1", index=0),
            Stream("u1", stream_type=StreamType.SCREEN, index=1),
        ],
        duration=30,
        control=SegmentControl(
            align=True, mixed=False, ignore_silence=True, redundant_duration=3000
        ),
        identifier="prefix",
        handle=False,
    )
    body = request.to_dict()
    assert body["TargetStreams"] == {
        "StreamList": [
            {"Index": 0, "UserId": "u1"},
            {"Index": 1, "UserId": "u1", "StreamType": 1},
        ]
    }
    assert body["Control"] == {
        "Align": True,
        "Mixed": False,
        "IgnoreSilence": True,
        "RedundantDuration": 3000,
    }
    assert (body["Identifier"], body["Handle"], body["Duration"]) == ("prefix", False, 30)
    assert StartSegmentRequest.from_dict(body) == request
    assert json.loads(json.dumps(body)) == body


def test_storage_constructors() -> None:
    """The readable constructors set Type and build the matching config."""
    s3 = StorageConfig.s3_compatible(
        vendor=Vendor.ALIYUN_OSS, bucket="b", access_key="AK", secret_key="SK", region=3
    )
    assert s3.to_dict() == {
        "Type": 2,
        "CustomConfig": {
            "Vendor": 1,
            "Region": 3,
            "Bucket": "b",
            "AccessKey": "AK",
            "SecretKey": "SK",
        },
    }
    assert s3.bucket == "b"
    assert (
        StorageConfig.s3_compatible(
            bucket="b", access_key="AK", secret_key="SK", region=S3Region.EU_CENTRAL_1
        ).custom_config.region
        == 7
    )  # type: ignore[union-attr]
    vod = StorageConfig.vod(
        account_id="1", space="sp", storage_class=2, auto_set_file_extension=True
    )
    assert vod.to_dict() == {
        "Type": 1,
        "VodConfig": {
            "AccountId": "1",
            "Space": "sp",
            "StorageClass": 2,
            "AutoSetFileExtension": True,
        },
    }
    assert vod.bucket is None
    imagex = StorageConfig.veimagex(account_id="1", service_id="svc", region=0)
    assert imagex.to_dict() == {
        "Type": 3,
        "VeImageXConfig": {"AccountId": "1", "Region": 0, "ServiceId": "svc"},
    }
    for config in (s3, vod, imagex, _tos()):
        assert StorageConfig.from_dict(config.to_dict()) == config
    tos = StorageConfig.tos(account_id="1", bucket="b", region=TosRegion.AP_SOUTHEAST_1)
    assert tos.tos_config is not None
    assert tos.tos_config.region is TosRegion.AP_SOUTHEAST_1


def test_ints_become_enums_and_unknown_regions_pass() -> None:
    """Documented numbers read as enums; a region newer than the table is sent as given."""
    config = StorageConfig.from_dict(
        {"Type": 0, "TosConfig": {"AccountId": "1", "Bucket": "b", "Region": 9}}
    )
    assert config.type is StorageType.TOS
    assert config.tos_config is not None
    assert config.tos_config.region == 9
    custom = CustomConfig(vendor=3, bucket="b", access_key="a", secret_key="s", region=40)  # type: ignore[arg-type]
    assert custom.vendor is Vendor.TENCENT_COS
    assert custom.region == 40
    assert Stream("u", stream_type=1).stream_type is StreamType.SCREEN  # type: ignore[arg-type]


def test_storage_type_defaults_to_tos() -> None:
    """Without Type, the config is TOS (the service default) and Type stays unsent."""
    config = StorageConfig(tos_config=TosConfig(account_id="1", bucket="b"))
    assert config.effective_type is StorageType.TOS
    assert config.to_dict() == {"TosConfig": {"AccountId": "1", "Bucket": "b"}}
    assert StorageConfig.from_dict(config.to_dict()) == config


def test_update_and_stop_bodies() -> None:
    """UpdateSegment and StopSegment serialize and read back."""
    update = UpdateSegmentRequest(
        app_id="a",
        room_id="r",
        task_id="t",
        business_id="b",
        duration=10,
        handle=True,
        identifier="i",
    )
    assert update.to_dict() == {
        "AppId": "a",
        "BusinessId": "b",
        "RoomId": "r",
        "TaskId": "t",
        "Duration": 10,
        "Handle": True,
        "Identifier": "i",
    }
    assert UpdateSegmentRequest.from_dict(update.to_dict()) == update
    stop = StopSegmentRequest(app_id="a", room_id="r", task_id="t")
    assert stop.to_dict() == {"AppId": "a", "RoomId": "r", "TaskId": "t"}
    assert StopSegmentRequest.from_dict(stop.to_dict()) == stop


BAD_START: list[tuple[dict[str, Any], str, str]] = [
    ({"app_id": "bad id"}, "app_id", "must match"),
    ({"app_id": ""}, "app_id", "must match"),
    ({"app_id": "x" * 129}, "app_id", "must match"),
    ({"app_id": None}, "app_id", "is required"),
    ({"app_id": 5}, "app_id", "must be a string"),
    ({"room_id": "room/1"}, "room_id", "must match"),
    ({"task_id": "task#1"}, "task_id", "must match"),
    ({"business_id": "biz id"}, "business_id", "must match"),
    ({"identifier": "id*"}, "identifier", "must match"),
    ({"max_idle_time": 0}, "max_idle_time", r"\[1, 86400\]"),
    ({"max_idle_time": 86401}, "max_idle_time", r"\[1, 86400\]"),
    ({"max_idle_time": True}, "max_idle_time", "integer"),
    ({"duration": 0}, "duration", r"\[1, 600\]"),
    ({"duration": 601}, "duration", r"\[1, 600\]"),
    ({"duration": 20.0}, "duration", "got float"),
    ({"handle": "yes"}, "handle", "true or false"),
    ({"storage_config": None}, "storage_config", "is required"),
    ({"storage_config": {"Type": 0}}, "storage_config", "must be a StorageConfig"),
    (
        {"storage_config": StorageConfig.vod(account_id="1", space="s")},
        "storage_config.type",
        r"0 \(TOS\) or 2 \(CUSTOM\)",
    ),
    (
        {"storage_config": StorageConfig.veimagex(account_id="1", service_id="s")},
        "storage_config.type",
        "for segmentation",
    ),
    ({"control": {"Align": True}}, "control", "must be a SegmentControl"),
    ({"target_streams": "u1"}, "target_streams", "TargetStreams or a list"),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_START)
def test_start_request_refuses_bad_values(
    overrides: dict[str, Any], field: str, message: str
) -> None:
    """Each bad StartSegment value is refused with the field named and the rule stated."""
    with pytest.raises(ValidationError, match=message) as info:
        _start(**overrides)
    assert info.value.field == field
    assert field.split(".")[0] in str(info.value)


BAD_PARTS: list[tuple[Any, str, str]] = [
    (lambda: Stream("bad user"), "user_id", "must match"),
    (lambda: Stream("u", stream_type=2), "stream_type", r"0 \(NORMAL\), 1 \(SCREEN\)"),
    (lambda: Stream("u", stream_type=True), "stream_type", "got bool"),
    (lambda: Stream("u", index=-1), "index", ">= 0"),
    (lambda: TargetStreams([Stream(f"u{i}") for i in range(18)]), "stream_list", "at most 17"),
    (
        lambda: TargetStreams([Stream("a", index=1), Stream("b", index=1)]),
        "stream_list",
        "Index 1 twice",
    ),
    (lambda: TargetStreams(["u1"]), "stream_list", "must be a Stream"),  # type: ignore[list-item]
    (lambda: TargetStreams("u1"), "stream_list", "list of Stream"),  # type: ignore[arg-type]
    (lambda: SegmentControl(redundant_duration=-1), "redundant_duration", ">= 0"),
    (lambda: SegmentControl(align=1), "align", "true or false"),  # type: ignore[arg-type]
    (lambda: SegmentControl(mixed="no"), "mixed", "true or false"),  # type: ignore[arg-type]
    (lambda: SegmentControl(ignore_silence=0), "ignore_silence", "true or false"),  # type: ignore[arg-type]
    (lambda: TosConfig(account_id="", bucket="b"), "account_id", "non-empty"),
    (lambda: TosConfig(account_id="1", bucket=" "), "bucket", "non-empty"),
    (lambda: TosConfig(account_id="1", bucket="b", region=-1), "region", ">= 0"),
    (lambda: TosConfig(account_id="1", bucket="b", region="0"), "region", "integer"),  # type: ignore[arg-type]
    (lambda: VodConfig(account_id="1", space="s", storage_class=4), "storage_class", r"\[1, 3\]"),
    (lambda: VodConfig(account_id="1", space=""), "space", "non-empty"),
    (
        lambda: VodConfig(account_id="1", space="s", auto_set_file_extension="no"),  # type: ignore[arg-type]
        "auto_set_file_extension",
        "true or false",
    ),
    (lambda: VeImageXConfig(account_id="1", service_id=""), "service_id", "non-empty"),
    (
        lambda: CustomConfig(vendor=5, bucket="b", access_key="a", secret_key="s"),  # type: ignore[arg-type]
        "vendor",
        r"4 \(QINIU_KODO\)",
    ),
    (lambda: CustomConfig(bucket="", access_key="a", secret_key="s"), "bucket", "non-empty"),
    (lambda: CustomConfig(bucket="b", access_key="", secret_key="s"), "access_key", "non-empty"),
    (lambda: CustomConfig(bucket="b", access_key="a", secret_key=""), "secret_key", "non-empty"),
    (lambda: StorageConfig(type=7), "type", "one of 0"),  # type: ignore[arg-type]
    (lambda: StorageConfig(type=2), "custom_config", "required when type is 2"),  # type: ignore[arg-type]
    (
        lambda: StorageConfig(
            custom_config=CustomConfig(bucket="b", access_key="a", secret_key="s")
        ),
        "custom_config",
        "type is unset",
    ),
    (
        lambda: StorageConfig(
            type=StorageType.TOS,
            tos_config=TosConfig(account_id="1", bucket="b"),
            vod_config=VodConfig(account_id="1", space="s"),
        ),
        "vod_config",
        "type is 0",
    ),
    (
        lambda: StorageConfig(type=0, tos_config={"Bucket": "b"}),
        "tos_config",
        "must be a TosConfig",
    ),  # type: ignore[arg-type]
    (
        lambda: UpdateSegmentRequest(app_id="a", room_id="r", task_id="t", duration=700),
        "duration",
        "600",
    ),
    (
        lambda: UpdateSegmentRequest(app_id="a", room_id="r", task_id="t", handle=1),
        "handle",
        "true or false",
    ),  # type: ignore[arg-type]
    (
        lambda: UpdateSegmentRequest(app_id="a", room_id="r", task_id="t", identifier="a b"),
        "identifier",
        "match",
    ),
    (lambda: StopSegmentRequest(app_id="a", room_id="r r", task_id="t"), "room_id", "match"),
    (
        lambda: StopSegmentRequest(app_id="a", room_id="r", task_id="t", business_id="b b"),
        "business_id",
        "match",
    ),
]


@pytest.mark.parametrize(("build", "field", "message"), BAD_PARTS)
def test_parts_refuse_bad_values(build: Any, field: str, message: str) -> None:
    """Each bad value of a nested model is refused with its field and the allowed values."""
    with pytest.raises(ValidationError, match=message) as info:
        build()
    assert info.value.field == field


def test_id_pattern_accepts_the_documented_characters() -> None:
    """Letters, digits and _ @ - . up to 128 characters are accepted."""
    _start(app_id="A-z_0.9@x", room_id="r" * 128, task_id="t")


BAD_DICTS: list[tuple[Any, str]] = [
    ([], "must be a JSON object"),
    ({"AppId": "a", "RoomId": "r", "TaskId": "t"}, "storage_config"),
    ({"AppId": "a", "RoomId": "r", "TaskId": "t", "StorageConfig": []}, "storage_config"),
    (
        {
            "AppId": "a",
            "RoomId": "r",
            "TaskId": "t",
            "Duraton": 5,
            "StorageConfig": {"TosConfig": {"AccountId": "1", "Bucket": "b"}},
        },
        "unknown field",
    ),
    (
        {
            "AppId": "a",
            "RoomId": "r",
            "TaskId": "t",
            "StorageConfig": {"TosConfig": {"AccountId": 1, "Bucket": "b"}},
        },
        "storage_config.tos_config.account_id",
    ),
    (
        {
            "AppId": "a",
            "RoomId": "r",
            "TaskId": "t",
            "StorageConfig": {"TosConfig": {"AccountId": "1"}},
        },
        "storage_config.tos_config.bucket",
    ),
    (
        {"AppId": "a", "RoomId": "r", "TaskId": "t", "StorageConfig": {"TosConfig": "b"}},
        "storage_config.tos_config",
    ),
    (
        {
            "AppId": "a",
            "RoomId": "r",
            "TaskId": "t",
            "StorageConfig": {"TosConfig": {"AccountId": "1", "Bucket": "b"}},
            "TargetStreams": {"StreamList": {"UserId": "u"}},
        },
        "target_streams.stream_list",
    ),
    (
        {
            "AppId": "a",
            "RoomId": "r",
            "TaskId": "t",
            "StorageConfig": {"TosConfig": {"AccountId": "1", "Bucket": "b"}},
            "TargetStreams": {"StreamList": [{"UserId": "u"}, {"UserId": "u u"}]},
        },
        "target_streams.stream_list[1].user_id",
    ),
    (
        {
            "AppId": "a",
            "RoomId": "r",
            "TaskId": "t",
            "StorageConfig": {"TosConfig": {"AccountId": "1", "Bucket": "b"}},
            "Control": {"Align": "yes"},
        },
        "control.align",
    ),
    (
        {
            "AppId": "a",
            "RoomId": "r",
            "TaskId": "t",
            "StorageConfig": {"TosConfig": {"AccountId": "1", "Bucket": "b"}},
            "TargetStreams": {"StreamList": [{"UserId": "u", "Extra": 1}]},
        },
        "Extra",
    ),
]


@pytest.mark.parametrize(("data", "message"), BAD_DICTS)
def test_from_dict_raises_validation_errors_with_paths(data: Any, message: str) -> None:
    """Bad input raises ValidationError naming the dotted path, never KeyError or TypeError."""
    with pytest.raises(ValidationError, match=re.escape(message)):
        StartSegmentRequest.from_dict(data)


def test_other_from_dicts_refuse_bad_input() -> None:
    """Every from_dict refuses a non-object and an unknown field."""
    for cls in (
        UpdateSegmentRequest,
        StopSegmentRequest,
        StorageConfig,
        TosConfig,
        VodConfig,
        CustomConfig,
        VeImageXConfig,
        SegmentControl,
        TargetStreams,
        Stream,
    ):
        with pytest.raises(ValidationError):
            cls.from_dict("x")  # type: ignore[attr-defined]
        with pytest.raises(ValidationError, match="unknown field"):
            cls.from_dict({"Nope": 1})  # type: ignore[attr-defined]
    with pytest.raises(ValidationError, match="app_id"):
        UpdateSegmentRequest.from_dict({"RoomId": "r", "TaskId": "t"})
    with pytest.raises(ValidationError, match="task_id"):
        StopSegmentRequest.from_dict({"AppId": "a", "RoomId": "r"})


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 700) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "AppId",
                    "RoomId",
                    "TaskId",
                    "StorageConfig",
                    "TosConfig",
                    "CustomConfig",
                    "Type",
                    "AccountId",
                    "Bucket",
                    "Duration",
                    "Control",
                    "TargetStreams",
                    "StreamList",
                    "UserId",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(JSONISH)
def test_from_dict_only_ever_raises_validation_error(data: Any) -> None:
    """Arbitrary JSON either reads or raises ValidationError (no KeyError, TypeError ...)."""
    with contextlib.suppress(ValidationError):
        StartSegmentRequest.from_dict(data)


def test_secrets_never_in_repr_str_or_errors() -> None:
    """A custom store's keys show as *** and never appear in an error message."""
    config = CustomConfig(bucket="b", access_key=SECRET, secret_key=SECRET)
    request = _start(storage_config=StorageConfig(type=StorageType.CUSTOM, custom_config=config))
    for text in (repr(config), str(config), repr(request), repr(request.storage_config)):
        assert SECRET not in text
        assert "'***'" in text
    with pytest.raises(ValidationError) as info:
        StartSegmentRequest.from_dict({**request.to_dict(), "Duration": 0})
    assert SECRET not in str(info.value)
    assert SECRET not in repr(pickle.loads(pickle.dumps(info.value)))
    with pytest.raises(ValidationError) as info:
        CustomConfig(bucket="b", access_key=123, secret_key=SECRET)  # type: ignore[arg-type]
    assert "123" not in str(info.value)
    assert SECRET in request.to_dict()["StorageConfig"]["CustomConfig"]["SecretKey"]


def test_models_are_frozen_values() -> None:
    """Models are immutable, hashable where their fields are, and compare by value."""
    request = _start()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        request.duration = 5  # type: ignore[misc]
    assert _start() == request
    assert attrs.evolve(request, duration=10).duration == 10
    assert hash(Stream("u", index=1)) == hash(Stream("u", index=1))
    assert TargetStreams([Stream("a"), Stream("b"), Stream("a", stream_type=1)]).user_ids == [
        "a",
        "b",
    ]  # type: ignore[arg-type]


def test_segment_task_from_answer() -> None:
    """GetSegmentTask's SegmentTask reads its settings; odd values fall back without raising."""
    raw = {
        "StartTime": 1700000000000,
        "EndTime": 0,
        "Status": 2,
        "Duration": 20,
        "Handle": True,
        "Identifier": "id",
        "MaxIdleTime": 180,
        "TargetStreams": {"StreamList": [{"UserId": "u"}]},
        "StorageConfig": {
            "Type": 2,
            "CustomConfig": {"Bucket": "b", "AccessKey": "a", "SecretKey": SECRET},
        },
        "Control": {"Mixed": True, "Future": 1},
    }
    task = SegmentTask.from_dict(raw, app_id="a", room_id="r", task_id="t", request_id="R")
    assert task.status is SegmentTaskStatus.RUNNING
    assert task.running
    assert task.control == SegmentControl(mixed=True)  # an unknown field is tolerated here
    assert task.storage_config is not None
    assert task.storage_config.custom_config is not None
    assert SECRET not in repr(task)
    assert task.to_dict() == raw
    odd = SegmentTask.from_dict(
        {"Status": 9, "StartTime": "x", "StopReason": "", "Control": {"Align": 3}}
    )
    assert odd.status is SegmentTaskStatus.UNKNOWN
    assert (odd.start_time, odd.stop_reason, odd.control) == (None, None, None)
    with pytest.raises(ValidationError):
        SegmentTask.from_dict([])  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [1, 3, 99])
def test_small_redundant_duration_warns_with_both_readings(value: int) -> None:
    """RedundantDuration under 100 warns, stating the ms and the seconds reading, and is sent."""
    with pytest.warns(RedundantDurationUnitWarning) as record:
        request = _start(control=SegmentControl(redundant_duration=value))
    message = str(record[0].message)
    assert f"is {value}" in message
    assert f"{value / 1000:g} s" in message  # the milliseconds reading
    assert f"{value} seconds" in message
    assert f"pass {value * 1000}" in message
    assert record[0].filename == __file__  # points at the caller
    assert request.to_dict()["Control"]["RedundantDuration"] == value  # not refused, not changed
    assert issubclass(RedundantDurationUnitWarning, UserWarning)


@pytest.mark.parametrize("value", [0, 100, 2000, None])
def test_plausible_redundant_duration_does_not_warn(value: int | None) -> None:
    """0 (no overlap), 100 ms and more, and unset draw no warning."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _start(control=SegmentControl(redundant_duration=value))
        SegmentControl(redundant_duration=3)  # the part alone is not a request yet


def test_models_validate_with_attrs_validators_only() -> None:
    """One validation idiom: no model normalises itself in __attrs_post_init__."""
    for cls in (
        StartSegmentRequest,
        UpdateSegmentRequest,
        StopSegmentRequest,
        StorageConfig,
        TosConfig,
        VodConfig,
        CustomConfig,
        VeImageXConfig,
        SegmentControl,
        TargetStreams,
        Stream,
        SegmentTask,
    ):
        assert not hasattr(cls, "__attrs_post_init__"), cls.__name__
        assert "__repr__" not in vars(cls) or attrs.has(cls), cls.__name__


def test_secret_fields_are_masked_by_attrs() -> None:
    """The store keys show as '***' through attrs' own repr, set or not."""
    fields = attrs.fields_dict(CustomConfig)
    assert fields["access_key"].repr is not True
    assert fields["secret_key"].repr is not True
    config = CustomConfig(bucket="b", access_key=SECRET, secret_key=SECRET + "2")
    assert repr(config) == (
        "CustomConfig(bucket='b', access_key='***', secret_key='***', vendor=None, region=None)"
    )
