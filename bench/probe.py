"""How fast the machine is right now, in two figures that need no server.

usage: python3 bench/probe.py              -> one JSON object on stdout
       python3 bench/probe.py --markdown   -> one list item for BENCHMARKS.md

- `loop_ms`: one CPU's speed; the best of 3 timings of a fixed Python loop.
- `wake_us`: a round trip between two processes pinned to different CPUs
  that wake each other through pipes (what `perf bench sched pipe`
  measures), the median of 5 batches of 500. Every request of the benchmark
  crosses between wrk, the server and PostgreSQL this way.
- `wake_same_cpu_us`: the same with both processes on one CPU.

bench/compare.sh runs it at the start and after every measured run, so
that each run records the machine it ran on. It is a snapshot after a
run, not a measure of it: it documents the machine's range and corrects
no figure (BENCHMARKS.md, "The machine"). On a one-CPU machine
`wake_us` is null.
"""

import json
import os
import statistics
import sys
import time

LOOP = 2_000_000
BATCHES, ROUND_TRIPS = 5, 500


def loop_ms() -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for i in range(LOOP):
            total += i
        best = min(best, time.perf_counter() - start)
    return round(best * 1000, 1)


def wake_us(parent_cpu: int, child_cpu: int) -> float:
    """Median microseconds per round trip, parent on one CPU, child on another."""
    down_r, down_w = os.pipe()
    up_r, up_w = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.sched_setaffinity(0, {child_cpu})
            for _ in range(BATCHES * ROUND_TRIPS):
                os.read(down_r, 1)
                os.write(up_w, b"x")
        finally:
            os._exit(0)
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {parent_cpu})
    try:
        batches = []
        for _ in range(BATCHES):
            start = time.perf_counter()
            for _ in range(ROUND_TRIPS):
                os.write(down_w, b"x")
                os.read(up_r, 1)
            batches.append((time.perf_counter() - start) / ROUND_TRIPS)
    finally:
        os.sched_setaffinity(0, previous)
        os.waitpid(child, 0)
        for fd in (down_r, down_w, up_r, up_w):
            os.close(fd)
    return round(statistics.median(batches) * 1e6, 1)


def main() -> None:
    cpus = sorted(os.sched_getaffinity(0))
    speed = {
        "loop_ms": loop_ms(),
        "wake_us": wake_us(cpus[0], cpus[1]) if len(cpus) > 1 else None,
        "wake_same_cpu_us": wake_us(cpus[0], cpus[0]),
    }
    if sys.argv[1:] == ["--markdown"]:
        print(f"- machine speed (bench/probe.py): loop {speed['loop_ms']} ms; a round trip between two CPUs "
              f"{speed['wake_us']} µs, on one CPU {speed['wake_same_cpu_us']} µs")
    else:
        print(json.dumps(speed))


if __name__ == "__main__":
    main()
