"""What a PutRecords answer means for each record, as both Kinesis clients (asyncio driver, Locust user) settle it."""

import random

import numpy as np
import pytest

from loadgen.drive.put_records_batches import (ALL_ACKNOWLEDGED, PutLimits, PutRecordsError, Retry, StreamCounts,
                                               accounting, answer, ready_retries, settle)


def sending(n: int) -> StreamCounts:
    return StreamCounts(generated=n, sending=n)


def test_an_answer_with_a_sequence_number_for_every_record_is_all_acknowledged_unparsed():
    payload = b'{"FailedRecordCount":0,"Records":[{"SequenceNumber":"1","ShardId":"s"},{"SequenceNumber":"2"}]}'
    assert answer(200, payload, 2) is ALL_ACKNOWLEDGED
    assert answer(200, payload, 3)["Records"][1] == {"SequenceNumber": "2"}  # one missing: parsed
    with pytest.raises(PutRecordsError) as error:
        answer(400, b'{"__type":"com.amazonaws#ResourceNotFoundException"}', 2)
    assert error.value.code == "ResourceNotFoundException"
    with pytest.raises(PutRecordsError) as error:
        answer(503, b"<html>", 2)
    assert error.value.code == "InternalFailure"


def test_throttled_records_are_retried_with_backoff_and_the_rest_acknowledged():
    counts = sending(3)
    response = {"FailedRecordCount": 1, "Records": [{"SequenceNumber": "1"},
                                                    {"ErrorCode": "ProvisionedThroughputExceededException"},
                                                    {"SequenceNumber": "3"}]}
    settled = settle(counts, response, None, np.array([10, 20, 30]), None, 8, random.Random(1))
    assert settled.acknowledged.tolist() == [True, False, True] and settled.failed == []
    ((i, code, tries, backoff),) = settled.retry
    assert (i, code, tries) == (1, "ProvisionedThroughputExceededException", 1) and 0 <= backoff <= 0.05
    assert counts.counted() == {"generated": 3, "acknowledged": 2, "failed": 0, "in_flight": 1}
    assert counts.acknowledged_bytes == 40 and counts.retried == 1 and counts.calls == 1


def test_a_call_error_no_retry_fixes_fails_its_records_and_the_last_attempt_fails_too():
    counts = sending(2)
    settled = settle(counts, None, "ResourceNotFoundException", np.array([1, 1]), None, 8, random.Random(1))
    assert settled.retry == [] and [f[1] for f in settled.failed] == ["ResourceNotFoundException"] * 2
    assert counts.error_codes == {"ResourceNotFoundException": 2} and counts.call_errors == 1
    last = sending(1)
    settled = settle(last, None, "InternalFailure", np.array([1]), [8], 8, random.Random(1))
    assert settled.failed == [(0, "InternalFailure", 8)] and last.failed == 1
    assert accounting({"a": counts, "b": last})["failed"] == 3


def test_retries_ready_go_out_within_the_limits():
    retries = [Retry(t, b"e", "k", 0.0, 1, 3) for t in (0.1, 0.2, 0.3, 0.9)]
    assert [r.ready_at for r in ready_retries(retries, 0.5, PutLimits(max_records=2))] == [0.1, 0.2]
    assert [r.ready_at for r in ready_retries(retries, 0.5, PutLimits(max_bytes=5))] == [0.3]
    assert [r.ready_at for r in retries] == [0.9]


def test_accounting_that_does_not_add_up_raises():
    with pytest.raises(RuntimeError):
        accounting({"a": StreamCounts(generated=2, acknowledged=1)})
