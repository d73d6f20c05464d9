"""clean_images.parallel: input order, bounded memory, errors where they belong."""

from __future__ import annotations

import threading
import time

import pytest

from clean_images.parallel import ordered_map, worker_count


def test_results_come_back_in_input_order_whatever_finishes_first():
    def slow_for_small(n: int) -> int:
        time.sleep(0.002 * (20 - n % 20))
        return n * n

    assert [(i, r) for i, r in ordered_map(slow_for_small, range(100), workers=4)] == [(i, i * i) for i in range(100)]


def test_at_most_a_window_of_items_is_in_flight_however_long_the_input():
    started = 0
    lock = threading.Lock()

    def count(n: int) -> int:
        nonlocal started
        with lock:
            started += 1
        return n

    def items():
        yield from range(10_000)

    consumed = 0
    for _ in ordered_map(count, items(), workers=2, window_per_worker=3):
        consumed += 1
        with lock:
            assert started - consumed <= 2 * 3, (started, consumed)
    assert consumed == 10_000


def test_an_error_is_raised_for_its_item_after_the_items_before_it():
    def fail_on_five(n: int) -> int:
        if n == 5:
            raise ValueError("five")
        return n

    seen = []
    with pytest.raises(ValueError, match="five"):
        for item, _ in ordered_map(fail_on_five, range(10), workers=3):
            seen.append(item)
    assert seen == [0, 1, 2, 3, 4]


def test_worker_count_is_at_least_one():
    assert worker_count() >= 1
