"""push_pipelined: the next chunk is pushed while the previous result is recorded, results
are recorded in order, and a failure stops the pushes after the chunk already under way."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from connectors.base import WriteResult
from sync.pipeline.push import push_pipelined


def _chunks(n: int) -> list[pd.DataFrame]:
    return [pd.DataFrame({"record_id": [f"r{i}a", f"r{i}b"]}) for i in range(n)]


def _result(chunk: pd.DataFrame) -> WriteResult:
    result = WriteResult()
    result.accepted = chunk["record_id"].tolist()
    result.calls = {"write": 1}
    return result


def test_every_result_is_recorded_in_push_order() -> None:
    pushed: list[str] = []
    recorded: list[tuple[list[str], int]] = []

    def push(chunk: pd.DataFrame) -> WriteResult:
        pushed.append(chunk["record_id"].iloc[0])
        return _result(chunk)

    push_pipelined(push, iter(_chunks(7)), lambda r, rows: recorded.append((r.accepted, rows)))

    assert pushed == [f"r{i}a" for i in range(7)]
    assert recorded == [([f"r{i}a", f"r{i}b"], 2) for i in range(7)]


def test_the_next_chunk_is_on_its_way_while_a_result_is_recorded() -> None:
    started = [threading.Event() for _ in range(3)]
    overlapped: list[bool] = []

    def push(chunk: pd.DataFrame) -> WriteResult:
        started[int(chunk["record_id"].iloc[0][1])].set()
        return _result(chunk)

    def record(result: WriteResult, rows: int) -> None:
        index = int(result.accepted[0][1])
        if index + 1 < len(started):  # the next push starts without waiting for this one
            overlapped.append(started[index + 1].wait(timeout=30))

    push_pipelined(push, iter(_chunks(3)), record)

    assert overlapped == [True, True]


def test_nothing_is_sent_after_a_failed_push_and_its_error_is_raised() -> None:
    pushed: list[int] = []
    recorded: list[int] = []

    def push(chunk: pd.DataFrame) -> WriteResult:
        index = int(chunk["record_id"].iloc[0][1])
        pushed.append(index)
        if index == 2:
            raise RuntimeError("quota used up")
        return _result(chunk)

    with pytest.raises(RuntimeError, match="quota used up"):
        push_pipelined(
            push, iter(_chunks(6)), lambda r, rows: recorded.append(int(r.accepted[0][1]))
        )

    assert pushed == [0, 1, 2]  # chunk 3 may have been queued, but it was never sent
    assert recorded == [0, 1]


def test_two_streams_have_two_pushes_under_way_at_once() -> None:
    """Chunk 0's push returns only once chunk 1's push has started: with one stream this
    would wait forever (the test's timeout), with two both are under way together."""
    started = [threading.Event() for _ in range(4)]
    waited: list[bool] = []
    recorded: list[int] = []

    def push(chunk: pd.DataFrame) -> WriteResult:
        index = int(chunk["record_id"].iloc[0][1])
        started[index].set()
        if index % 2 == 0:
            waited.append(started[index + 1].wait(timeout=30))
        return _result(chunk)

    push_pipelined(
        push, iter(_chunks(4)), lambda r, rows: recorded.append(int(r.accepted[0][1])), 2
    )

    assert waited == [True, True]
    assert recorded == [0, 1, 2, 3]


def test_a_chunk_already_under_way_when_another_fails_is_still_recorded() -> None:
    """Chunk 1 fails while chunk 2 is being written: chunk 2 reached the CRM, so its result
    is recorded, and chunk 1's error is raised. A worker freed by chunk 2 may start chunk 3
    in the instant before chunk 1's failure is flagged (as a request already on its way);
    nothing beyond that is sent, and whatever was sent and accepted is recorded."""
    two_started, one_failed = threading.Event(), threading.Event()
    pushed: list[int] = []
    recorded: list[int] = []

    def push(chunk: pd.DataFrame) -> WriteResult:
        index = int(chunk["record_id"].iloc[0][1])
        pushed.append(index)
        if index == 1:
            assert two_started.wait(timeout=30)
            one_failed.set()
            raise RuntimeError("token revoked")
        if index == 2:
            two_started.set()
            assert one_failed.wait(timeout=30)
        return _result(chunk)

    with pytest.raises(RuntimeError, match="token revoked"):
        push_pipelined(
            push, iter(_chunks(8)), lambda r, rows: recorded.append(int(r.accepted[0][1])), 2
        )

    assert sorted(pushed) in ([0, 1, 2], [0, 1, 2, 3])
    assert recorded == [i for i in sorted(pushed) if i != 1]


def test_streams_must_be_positive() -> None:
    with pytest.raises(ValueError, match="streams >= 1"):
        push_pipelined(lambda chunk: _result(chunk), iter(_chunks(1)), lambda r, rows: None, 0)
