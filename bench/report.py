"""Prints the markdown tables of BENCHMARKS.md from bench/compare.sh's results.

usage: python3 bench/report.py RESULTS.jsonl [MACHINE.md]

With several rounds (`COMPARE_ROUNDS`), a system's rows of one workload are
summed: ops/s and req/s over all rounds' requests and seconds, server CPU
per operation over all rounds' operations; p50, p99 and peak RSS are the
highest any round measured, errors the total. The goals are checked on the
sums, and a second table gives each round's ratios on their own. A third
gives the machine's speed after each run (bench/probe.py), where recorded.
"""

import json
import sys

WORKLOADS = ["product", "product_with_factory", "products_page", "store", "write_mix"]
SYSTEMS = [
    ("storegate-rest", "postgres"),
    ("storegate-graphql", "postgres"),
    ("storegate-rest", "sqlite"),
    ("storegate-graphql", "sqlite"),
    ("postgraphile", "postgres"),
    ("flask", "postgres"),
    ("ceiling", "postgres"),
]

# The goals of issue 7, checked against the same rows the table shows.
GOALS = [
    # (label, numerator, denominator, workload, minimum ratio)
    ("storegate GraphQL / PostGraphile", ("storegate-graphql", "postgres"), ("postgraphile", "postgres"),
     "product_with_factory", 3.0),
    ("storegate GraphQL / PostGraphile", ("storegate-graphql", "postgres"), ("postgraphile", "postgres"),
     "products_page", 3.0),
    ("storegate REST / ceiling", ("storegate-rest", "postgres"), ("ceiling", "postgres"), "product", 0.7),
    ("storegate REST / ceiling", ("storegate-rest", "postgres"), ("ceiling", "postgres"), "store", 0.7),
]


# Ratios printed for every workload measured on both sides, without a target.
RATIOS = [
    ("storegate REST / Flask", ("storegate-rest", "postgres"), ("flask", "postgres")),
]


def combine(rows: list[dict]) -> dict:
    """One row for the rounds of one system and workload (see the module doc)."""
    if len(rows) == 1:
        return rows[0]
    seconds = sum(r["seconds"] for r in rows)
    requests = sum(r["requests"] for r in rows)
    ops = [r["requests"] / r["requests_per_op"] for r in rows]
    cpu = [r["server_cpu_us_per_op"] for r in rows]
    return {
        **rows[0],
        "round": None,
        "requests": requests,
        "seconds": seconds,
        "rps": round(requests / seconds, 1),
        "ops_per_s": round(sum(ops) / seconds, 1),
        "p50_ms": max(r["p50_ms"] for r in rows),
        "p90_ms": max(r["p90_ms"] for r in rows),
        "p99_ms": max(r["p99_ms"] for r in rows),
        "max_ms": max(r["max_ms"] for r in rows),
        "peak_rss_kib": max(r["peak_rss_kib"] for r in rows),
        "server_cpu_us_per_op": None if None in cpu or not sum(ops)
        else round(sum(c * o for c, o in zip(cpu, ops)) / sum(ops), 1),
        "errors": sum(r["errors"] for r in rows),
    }


def combined(rows: list[dict]) -> dict[tuple, dict]:
    """The rows keyed by system, engine and workload, rounds combined."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["system"], r["engine"], r["workload"]), []).append(r)
    return {key: combine(group) for key, group in groups.items()}


def read(path: str) -> list[dict]:
    return [json.loads(line) for line in open(path) if line.strip() and not line.startswith("#")]


def print_machine(rows: list[dict], rounds: list[int]) -> None:
    """bench/probe.py's figures after each measured run, where the results have them."""
    probed = {}
    for r in rows:
        if r.get("machine"):
            probed[(r["system"], r["engine"], r["workload"], r.get("round") or 1)] = r["machine"]
    if not probed:
        return
    print("\n## The machine's speed after each run\n")
    print("`bench/probe.py` with the server idle: a fixed Python loop (ms, lower is faster) and a round "
          "trip between processes on two CPUs (µs), taken after the run: the machine's range, "
          "not a correction of any figure.\n")
    print("| workload | system | engine | " + " | ".join(f"round {n}: loop ms / wake µs" for n in rounds) + " |")
    print("|---|---|---|" + "--:|" * len(rounds))
    for workload in WORKLOADS:
        for system, engine in SYSTEMS:
            cells = [probed.get((system, engine, workload, n)) for n in rounds]
            if not any(cells):
                continue
            shown = ["—" if m is None else f"{m['loop_ms']} / {m['wake_us']}" for m in cells]
            print(f"| {workload} | {system} | {engine} | " + " | ".join(shown) + " |")


def main() -> None:
    rows = read(sys.argv[1])
    by_key = combined(rows)
    rounds = sorted({r.get("round") or 1 for r in rows})
    if len(sys.argv) > 2:
        print("## Machine and settings\n")
        print(open(sys.argv[2]).read())

    print("## Results\n")
    if len(rounds) > 1:
        print(f"Each row sums {len(rounds)} rounds (odd rounds in the order of `COMPARE_SYSTEMS`, even rounds "
              "in reverse): ops/s, req/s and CPU per operation over all of them; p50, p99 and peak RSS "
              "the highest any round measured; errors the total.\n")
    print("| workload | system | engine | ops/s | req/s | p50 ms | p99 ms | peak RSS MiB | server CPU µs/op | errors |")
    print("|---|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for workload in WORKLOADS:
        for system, engine in SYSTEMS:
            r = by_key.get((system, engine, workload))
            if r is None:
                continue
            print(f"| {workload} | {system} | {engine} | {r['ops_per_s']:,.0f} | {r['rps']:,.0f} | "
                  f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['peak_rss_kib'] / 1024:.1f} | "
                  f"{r['server_cpu_us_per_op']} | {r['errors']} |")

    print("\n## Goals\n")
    print("| goal | workload | measured | target | met |")
    print("|---|---|--:|--:|---|")
    for label, num, den, workload, minimum in GOALS:
        a, b = by_key.get((*num, workload)), by_key.get((*den, workload))
        if a is None or b is None:
            print(f"| {label} ops/s | {workload} | not measured | ≥ {minimum:g}× | — |")
            continue
        ratio = a["ops_per_s"] / b["ops_per_s"]
        print(f"| {label} ops/s | {workload} | {ratio:.2f}× | ≥ {minimum:g}× | {'yes' if ratio >= minimum else 'NO'} |")
    for system, engine in SYSTEMS[:4]:
        for workload in ("product", "store"):
            r = by_key.get((system, engine, workload))
            if r is None:
                continue
            print(f"| {system} ({engine}) p99 at {r['connections']} connections | {workload} | "
                  f"{r['p99_ms']:.2f} ms | < 10 ms | {'yes' if r['p99_ms'] < 10 else 'NO'} |")
            print(f"| {system} ({engine}) peak RSS under that load | {workload} | "
                  f"{r['peak_rss_kib'] / 1024:.1f} MiB | < 64 MiB | {'yes' if r['peak_rss_kib'] < 64 * 1024 else 'NO'} |")

    if len(rounds) > 1:
        print("\n## Goals per round\n")
        print("| goal | workload | " + " | ".join(f"round {n}" for n in rounds) + " |")
        print("|---|---|" + "--:|" * len(rounds))
        per_round = {n: {} for n in rounds}
        for r in rows:
            per_round[r.get("round") or 1][(r["system"], r["engine"], r["workload"])] = r
        for label, num, den, workload, minimum in GOALS:
            cells = []
            for one in per_round.values():
                a, b = one.get((*num, workload)), one.get((*den, workload))
                if a is None or b is None or not b["ops_per_s"]:
                    cells.append("—")
                    continue
                ratio = a["ops_per_s"] / b["ops_per_s"]
                mark = "" if ratio >= minimum else " (NO)"
                cells.append(f"{a['ops_per_s']:,.0f} / {b['ops_per_s']:,.0f} = {ratio:.2f}×{mark}")
            print(f"| {label} ≥ {minimum:g}× | {workload} | " + " | ".join(cells) + " |")

    print_machine(rows, rounds)

    lines = []
    for label, num, den in RATIOS:
        for workload in WORKLOADS:
            a, b = by_key.get((*num, workload)), by_key.get((*den, workload))
            if a is None or b is None or not b["ops_per_s"]:
                continue
            ratio = a["ops_per_s"] / b["ops_per_s"]
            lines.append(f"| {label} ops/s | {workload} | {a['ops_per_s']:,.0f} | {b['ops_per_s']:,.0f} | {ratio:.2f}× |")
    if lines:
        print("\n## Ratios\n")
        print("| ratio | workload | numerator ops/s | denominator ops/s | measured |")
        print("|---|---|--:|--:|--:|")
        print("\n".join(lines))


if __name__ == "__main__":
    main()
