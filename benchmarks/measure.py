"""Runs one contender in a fresh process and measures wall time and peak memory.

Peak RSS is sampled (every 50 ms) over the whole process tree: the process itself and,
for Beam, its worker processes, reported separately so "per worker" is visible.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import time

import psutil


@dataclasses.dataclass
class Run:
    name: str
    seconds: float
    peak_rss_mb: float  # the main process
    peak_worker_rss_mb: float  # the largest child process (Beam workers), 0 if none
    result: dict
    error: str = ""  # the failed process's last stderr line; "" when it succeeded
    stderr_tail: str = ""  # and the end of its stderr


def run(name: str, args: list[str]) -> Run:
    """`python -m benchmarks.contenders <args>`; the contender prints one JSON line last."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.contenders", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    main = psutil.Process(process.pid)
    peak, peak_child = 0, 0
    while True:
        try:  # reads its output as it comes: a result larger than the pipe's buffer would block it otherwise
            out, err = process.communicate(timeout=0.05)
            break
        except subprocess.TimeoutExpired:
            pass
        try:
            peak = max(peak, main.memory_info().rss)
            for child in main.children(recursive=True):
                peak_child = max(peak_child, child.memory_info().rss)
        except psutil.Error:
            pass
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        lines = [line for line in err.splitlines() if line.strip()] or [f"exit status {process.returncode}"]
        return Run(name, seconds, peak / 2**20, peak_child / 2**20, {}, error=lines[-1].strip(), stderr_tail=err[-4000:])
    result = json.loads(out.strip().splitlines()[-1])
    return Run(name, seconds, peak / 2**20, peak_child / 2**20, result)


def select(contenders: dict[str, list[str]], only: list[str] | None) -> dict[str, list[str]]:
    """The contenders named in `only` (all when it is empty), in the table's order; an unknown name is an error."""
    if not only:
        return contenders
    unknown = sorted(set(only) - set(contenders))
    if unknown:
        raise ValueError(f"no contender named {unknown}; the names are: {', '.join(map(repr, contenders))}")
    return {name: command for name, command in contenders.items() if name in only}


def run_rounds(
    contenders: dict[str, list[str]], repeat: int, scratch: pathlib.Path | None = None, *, tolerate_failures: bool = False
) -> dict[str, list[Run]]:
    """Every contender once per round, rounds interleaved so machine noise hits all alike.

    `scratch` (the contenders' output directories) is emptied before each run, and the disk
    flushed: a 25k build leaves ~3 GB of shards in the page cache, which the kernel otherwise
    writes back during whichever run comes next. A contender
    that fails raises, or with `tolerate_failures` keeps its failed run (the table shows it
    failed) and is not run again."""
    runs: dict[str, list[Run]] = collections.defaultdict(list)
    for round_number in range(repeat):
        for name, command in contenders.items():
            if runs[name] and runs[name][-1].error:
                continue
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
            _flush_disk()
            runs[name].append(run(name, command))
            if runs[name][-1].error and not tolerate_failures:
                raise RuntimeError(f"{name} failed:\n{runs[name][-1].stderr_tail}")
            status = f"FAILED: {runs[name][-1].error}" if runs[name][-1].error else f"{runs[name][-1].seconds:.1f} s"
            print(f"round {round_number + 1}: {name}: {status}", flush=True)
    return runs


def _flush_disk() -> None:
    """Writes the page cache's dirty pages now, so no run pays for the previous one's writes."""
    if hasattr(os, "sync"):  # not on Windows
        os.sync()


def summary(runs: list[Run]) -> tuple[float, float, float]:
    """(median, min, max) wall seconds."""
    seconds = [r.seconds for r in runs]
    return statistics.median(seconds), min(seconds), max(seconds)
