"""recipient_chunks: a large list split for dynamic task mapping."""

import pytest

from airflow_provider_sms.bird.errors import InvalidMessageError
from airflow_provider_sms.message.outgoing import default_reference
from airflow_provider_sms.operators.chunks import recipient_chunks

split = recipient_chunks.function


def test_chunks_hold_each_number_once_in_e164_and_at_most_size():
    numbers = [f"+316{20000000 + i}" for i in range(12)]
    chunks = split([*numbers, "0620000003", "+31 6 2000 0004"], size=5, default_region="NL")
    assert chunks == [numbers[0:5], numbers[5:10], numbers[10:12]]


def test_bad_numbers_or_size_fail_before_anything_is_sent():
    with pytest.raises(InvalidMessageError, match="recipients"):
        split(["+31620000000", "not a number"])
    with pytest.raises(ValueError, match="size"):
        split(["+31620000000"], size=0)


def test_the_same_number_in_two_mapped_tasks_gets_two_references():
    # Each mapped task instance's references carry its map index.
    first, second = (default_reference("d", "r", "send", i, "+3162", max_tries=1) for i in (0, 1))
    assert first != second
