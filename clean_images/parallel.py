"""Maps a function over a stream on every core, in input order, with bounded memory."""

from __future__ import annotations

import collections
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent import futures
from typing import TypeVar

_T = TypeVar("_T")
_R = TypeVar("_R")


def worker_count() -> int:
    """Cores this process may use (honours taskset/cgroup affinity, unlike cpu_count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def ordered_map(
    fn: Callable[[_T], _R], items: Iterable[_T], workers: int | None = None, window_per_worker: int = 8
) -> Iterator[tuple[_T, _R]]:
    """Applies `fn` on a thread pool, yielding (item, result) in input order.

    At most `window_per_worker` items per worker are in flight, so memory stays bounded
    however long the input is. Threads suffice because decoding and decompression release
    the GIL; by default one more thread than cores keeps every core decoding while another
    waits for the GIL (the consumer, TFDS's serializer, holds it often): 8% faster on 2 cores.
    An exception in `fn` is raised here, for its item, after the items before it.
    """
    workers = workers or worker_count() + 1
    window = window_per_worker * workers
    with futures.ThreadPoolExecutor(workers, thread_name_prefix="ordered_map") as pool:
        pending: collections.deque[tuple[_T, futures.Future[_R]]] = collections.deque()
        for item in items:
            pending.append((item, pool.submit(fn, item)))
            if len(pending) >= window:
                done_item, future = pending.popleft()
                yield done_item, future.result()
        while pending:
            done_item, future = pending.popleft()
            yield done_item, future.result()
