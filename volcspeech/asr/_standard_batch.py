"""``recognize_many(..., api="standard" | "auto")``: submit every task, then poll them together.

No thread waits for a task: a small pool (at most :data:`MAX_THREADS`) runs
the submits (and, with ``"auto"``, the flash recognitions of short audio),
then one loop in the caller's thread queries each due task on that pool,
schedules its next query by the :class:`PollSchedule` (never sooner than one
interval after its last answer), and sleeps until the earliest one is due.
Results are yielded in input order as they become known.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterable, Iterator
from typing import Any, Callable

from .. import errors
from ._models import RecognitionTask, TaskState
from ._options import RecognitionOptions
from ._results import Transcript
from ._standard_poll import DEFAULT_WAIT_TIMEOUT, PollLike, PollSchedule
from ._standard_routing import fits_flash, inspect_audio

__all__ = ["MAX_THREADS", "standard_batch"]

#: Threads of a standard batch: submits and queries are short calls, not waits.
MAX_THREADS = 4

#: A progress reporter: ``update(ok)`` per item, ``close()`` at the end.
Progress = Any


def _route(
    client: Any, item: Any, api: str, options: RecognitionOptions | None, kw: dict[str, Any]
) -> Transcript | RecognitionTask:
    """One item's first step: a flash transcript (auto, short audio) or a submitted task."""
    if api == "auto":
        checked = options or RecognitionOptions()
        prepared = inspect_audio(item, checked.to_audio_dict())
        if prepared.source is not None:
            prepared.source.close()
        if fits_flash(prepared) and not checked.standard_fields_set():
            transcript: Transcript = client.recognize(item, options=options, model=None)
            return transcript
    task: RecognitionTask = client.submit(item, options=options, **kw)
    return task


def standard_batch(
    client: Any,
    items: Iterable[Any],
    *,
    api: str,
    options: RecognitionOptions | None,
    max_workers: int,
    executor: concurrent.futures.Executor | None,
    make_result: Callable[..., Any],
    progress: Progress | None,
    uploader: Any = None,
    model: Any = None,
    poll: PollLike = None,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
) -> Iterator[Any]:
    """Submit all standard tasks, then poll them together; yield ``make_result(...)`` in order.

    Args:
        client: the :class:`AsrClient`.
        items: audio inputs.
        api: ``"standard"`` or ``"auto"``.
        options: options for every item.
        max_workers: the pool's size, capped at :data:`MAX_THREADS`.
        executor: an executor to use instead of the pool (not shut down here).
        make_result: ``BatchResult``.
        progress: a progress reporter, or ``None``.
        uploader: for local audio beyond the inline limit.
        model: the standard model.
        poll: the polling schedule per task.
        timeout: seconds to wait for all tasks after the submits.

    Yields:
        One result per item, in input order.
    """
    schedule = PollSchedule.coerce(poll)
    kw: dict[str, Any] = {"uploader": uploader, "model": model}
    owned = executor is None
    pool = executor or concurrent.futures.ThreadPoolExecutor(
        max_workers=min(max_workers, MAX_THREADS), thread_name_prefix="volcspeech-std"
    )
    inputs: list[Any] = []
    done: dict[int, Any] = {}
    try:
        # 1. Submit everything (short calls on the pool).
        firsts: list[concurrent.futures.Future[Transcript | RecognitionTask]] = []
        for item in items:
            inputs.append(item)
            firsts.append(pool.submit(_route, client, item, api, options, kw))
        pending: dict[int, tuple[RecognitionTask, float, int]] = {}
        now = time.monotonic()
        for index, future in enumerate(firsts):
            try:
                first = future.result()
            except Exception as exc:  # that item's failure is that item's result
                done[index] = make_result(index, inputs[index], error=exc)
                continue
            if isinstance(first, Transcript):
                done[index] = make_result(index, inputs[index], transcript=first)
            else:
                pending[index] = (first, now + schedule.interval(0), 0)
        deadline = time.monotonic() + timeout
        head = 0
        # 2. Poll the waiting tasks together, yielding in order as results arrive.
        while head < len(inputs):
            while head in done:
                result = done.pop(head)
                if progress is not None:
                    progress.update(result.ok)
                yield result
                head += 1
            if head >= len(inputs):
                break
            now = time.monotonic()
            if now >= deadline:
                for index, (task, _, _) in pending.items():
                    done[index] = make_result(
                        index,
                        inputs[index],
                        error=errors.TimeoutError(
                            f"task {task.task_id} not finished after {timeout:g}s (it goes on: "
                            "resume it with AsrClient.wait)",
                            request_id=task.task_id,
                        ),
                    )
                pending.clear()
                continue
            due = [i for i, (_, at, _) in pending.items() if at <= now]
            if not due:
                wake = min(at for _, at, _ in pending.values())
                time.sleep(max(0.0, min(wake, deadline) - now))
                continue
            queries = {i: pool.submit(client.query, pending[i][0]) for i in due}
            for index, answer in queries.items():
                task, _, polls = pending[index]
                try:
                    state: TaskState = answer.result()
                except Exception as exc:
                    done[index] = make_result(index, inputs[index], error=exc)
                    del pending[index]
                    continue
                if state.finished:
                    del pending[index]
                    if state.error is not None:
                        done[index] = make_result(index, inputs[index], error=state.error)
                    else:
                        done[index] = make_result(index, inputs[index], transcript=state.unwrap())
                else:
                    # The next query one interval after this answer, never sooner.
                    pending[index] = (
                        task,
                        time.monotonic() + schedule.interval(polls + 1),
                        polls + 1,
                    )
    finally:
        if progress is not None:
            progress.close()
        if owned:
            pool.shutdown(wait=True)
