"""Prints the markdown tables of BENCHMARKS.md from bench/compare.sh's results.

usage: python3 bench/report.py RESULTS.jsonl [MACHINE.md]
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


def main() -> None:
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    by_key = {(r["system"], r["engine"], r["workload"]): r for r in rows}
    if len(sys.argv) > 2:
        print("## Machine and settings\n")
        print(open(sys.argv[2]).read())

    print("## Results\n")
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
