"""Benchmark: each shape of sweep against its own bound, the cold start and the cost of a log line.

    python3 dev.py bench                        # every shape at its default size, ~6 min
    python3 dev.py bench --million              # many-slices at 58 jobs x 1 day: 1,002,240 records
    python3 dev.py bench --only few-slices,fleet
    python3 dev.py bench --quick                # a tenth of the files: a smoke run, not a measure
    python3 dev.py bench --repeats 3            # each shape 3 times, round after round, ~15 min
    python3 dev.py bench --baseline             # also a plain sequential SDK loop (many-slices)
    python3 dev.py bench transports             # threads vs the SDK's asyncio methods

Shapes (server cap per action and second; the client is not told it unless it says "budget"):
  many-slices      10 jobs x 1 day at 5 s, cap 100/s, 5 ms latency (58 jobs with --million)
  few-slices       4 jobs x half a day at 5 s, cap 40/s, 20 ms latency
  windows-per-job  a timer sweep over 3 one-day windows per job: 20 jobs at 60 s, cap 100/s
  high-cap         20 jobs x 1 day at 5 s, cap 300/s, 5 ms latency
  fleet            J jobs x 1 day at 5 s (--fleet-jobs, default 8), cap 100/s, over the local
                   Function Compute endpoint with 1, 2 and 4 shards; with the account budget
                   given (ICE_MAX_QPS = the cap, split between the shards: "budget") and without
                   (each shard finds its own rate: "adaptive")

Prints one JSON line per shape on stdout as it finishes, then the cold start, the log line and the
machine; then a table on stderr. See bench/measure.py for the minimum, the bound and the goals.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.measure import GOALS
from bench.processes import MachineCpu
from bench.shapes import Shape, catalogue, measure, measure_sequential_loop, seed_workload

SHAPE_GROUPS = ("many-slices", "few-slices", "windows-per-job", "high-cap", "fleet")
EXTRAS = ("cold-start", "log-line")
DEFAULT_FLEET_JOBS = 8
LARGEST_FLEET = 4


def selection(text: str) -> set[str]:
    chosen = {part.strip() for part in text.split(",") if part.strip()}
    unknown = chosen - set(SHAPE_GROUPS) - set(EXTRAS)
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"{text!r}: name some of {', '.join(SHAPE_GROUPS + EXTRAS)}, separated by commas")
    return chosen


def at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} must be at least {minimum}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dev.py bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="?", choices=["sweep", "transports"], default="sweep")
    parser.add_argument("--only", type=selection, metavar="NAMES",
                        help=f"comma-separated: {', '.join(SHAPE_GROUPS + EXTRAS)} (default all)")
    parser.add_argument("--million", action="store_true",
                        help="many-slices at 58 jobs x 1 day (1,002,240 records, ~3 min more)")
    parser.add_argument("--quick", action="store_true",
                        help="snapshots ten times further apart and 3 import samples: checks that"
                             " the bench runs; its figures mean little")
    parser.add_argument("--fleet-jobs", type=at_least(LARGEST_FLEET), default=DEFAULT_FLEET_JOBS,
                        metavar="J",
                        help=f"jobs in the fleet shapes (default {DEFAULT_FLEET_JOBS})")
    parser.add_argument("--import-repeats", type=at_least(1), default=9, metavar="N",
                        help="fresh interpreters per module and import measurement (default 9)")
    parser.add_argument("--repeats", type=at_least(1), default=1, metavar="N",
                        help="run every shape N times, round after round, and report the run"
                             " with the median wall time (default 1)")
    parser.add_argument("--baseline", action="store_true",
                        help="also run many-slices as a plain sequential SDK loop")
    return parser


def wanted(shape: Shape, chosen: set[str] | None) -> bool:
    group = "fleet" if shape.shards is not None else shape.name
    return chosen is None or group in chosen


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median wall time (the lower of the middle two), with every run's wall
    time beside it: one run's figures, not a blend of several."""
    if any("error" in run for run in runs):
        return next(run for run in runs if "error" in run)
    chosen = sorted(runs, key=lambda run: run["wall_s"])[(len(runs) - 1) // 2]
    return {**chosen, "runs": len(runs), "wall_s_of_runs": [run["wall_s"] for run in runs],
            "throttled_of_runs": [run["throttled"] for run in runs]}


def run_shapes(args: argparse.Namespace, emit: Callable[[dict[str, Any]], None]) -> None:
    shapes = [shape for shape in catalogue(million=args.million, quick=args.quick,
                                           fleet_jobs=args.fleet_jobs)
              if wanted(shape, args.only)]
    runs: dict[str, list[dict[str, Any]]] = {shape.name: [] for shape in shapes}
    with tempfile.TemporaryDirectory(prefix="ice-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        seeded = {}
        for number, workload in enumerate(dict.fromkeys(shape.workload for shape in shapes)):
            seeded[workload] = seed_workload(workload, scratch / f"seeded-{number}.db")
        # Round after round over all the shapes: a change in the machine's load falls on all.
        for round_number in range(1, args.repeats + 1):
            for shape in shapes:
                sample = seeded[shape.workload]
                print(f"bench: {shape.name} (run {round_number} of {args.repeats}):"
                      f" {sample.records:,} records, {sample.due:,} due; cap {shape.cap:g}/s per"
                      f" action{' (told)' if shape.told_cap else ' (not told)'},"
                      f" {shape.latency_ms:g} ms latency", file=sys.stderr, flush=True)
                try:
                    runs[shape.name].append(measure(shape, sample, scratch))
                except RuntimeError as failed:
                    runs[shape.name].append({"shape": shape.name, "error": str(failed)})
                if round_number == args.repeats:
                    emit(median_run(runs[shape.name]))
                if args.baseline and round_number == 1 and shape.name == "many-slices":
                    emit(measure_sequential_loop(shape, sample, scratch))


def with_machine(name: str, take: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A measurement that runs one process at a time, and how busy all the cores were meanwhile:
    above one core's share, other processes were running too."""
    machine = MachineCpu()
    figures = take()
    busy = machine.busy()
    return {"shape": name, **figures, "machine_busy_share": None if busy is None
            else round(busy[1], 3)}


def run_extras(args: argparse.Namespace, emit: Callable[[dict[str, Any]], None]) -> None:
    if args.only is None or "log-line" in args.only:
        from bench.log_line import in_fresh_interpreter

        emit(with_machine("log-line", in_fresh_interpreter))
    if args.only is None or "cold-start" in args.only:
        from bench.cold_start import from_package, from_source

        repeats = 3 if args.quick else args.import_repeats
        print(f"bench: cold start, {repeats} fresh interpreters per module", file=sys.stderr)
        emit(with_machine("cold-start-source", lambda: from_source(repeats)))
        emit(with_machine("cold-start-package", lambda: from_package(repeats)))


def machine() -> dict[str, Any]:
    return {"shape": "machine", "python": platform.python_version(), "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_avg_end": [round(n, 2) for n in os.getloadavg()]}


def percent(share: float) -> str:
    return f"{share:.2%}"


def missed(goals: dict[str, Any], goal: str) -> str:
    return "!" if goals.get(goal) is False else ""


def cpu_cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def table(lines: list[dict[str, Any]]) -> str:
    rows = [("shape", "files", "bound s", "wall s", "x bound", "calls eff", "throttled",
             "RSS MB", "handler CPU s", "emulator CPU s", "others", "wall goal")]
    notes = []
    for line in lines:
        if "error" in line:
            notes.append(f"{line['shape']}: {line['error']}")
        elif "bound_s" in line:
            # The sequential loop, a comparison, has no CPU figures and no goals.
            cpu = line.get("cpu_s", {})
            others = cpu.get("others")
            goals = line.get("goals", {})
            rows.append((
                line["shape"], f"{line['files_due']:,}", f"{line['bound_s']:.1f}",
                f"{line['wall_s']:.1f}", f"{line['wall_vs_bound']:.3f}",
                f"{line['call_efficiency']:.4f}" + missed(goals, "call_efficiency"),
                percent(line["throttled_share"]) + missed(goals, "throttled"),
                f"{line['peak_rss_mb']:.0f}" + missed(goals, "peak_rss")
                if "peak_rss_mb" in line else "-",
                cpu_cell(cpu.get("handler")), cpu_cell(cpu.get("emulator")),
                "-" if others is None else percent(others / (cpu["cores"] * line["wall_s"])),
                line["goals"]["wall"] if "goals" in line else "-",
            ))
        elif line["shape"].startswith("cold-start"):
            notes.append(
                f"{line['shape']}: " + (line["error"] if "error" in line else
                f"import index {line['handler_ms']:.0f} ms, bare SDK client {line['sdk_ms']:.0f}"
                f" ms (medians): {line['overhead_ms']:.0f} ms overhead, the median of the"
                f" pairs (goal <= "
                f"{GOALS.import_overhead_ms:g}: {'met' if line['met'] else 'NOT MET'}; Python"
                f" {line['python']}, median of {line['samples']}; cores busy"
                f" {line['machine_busy_share']})"))
        elif line["shape"] == "machine":
            notes.append(f"machine: {line['cpus']} CPUs, Python {line['python']}, load average at"
                         f" the end {line['load_avg_end'][0]:.2f}")
        elif line["shape"] == "log-line":
            notes.append(f"log-line: {line['us_per_line']:.1f} us per file line, 200 to a"
                         f" delete call (best round {line['best_round_us_per_line']:.1f}; one at a"
                         f" time {line['us_per_line_one_at_a_time']:.1f}) (goal <="
                         f" {GOALS.log_line_us:g}: {'met' if line['met'] else 'NOT MET'}; cores"
                         f" busy {line['machine_busy_share']})")
    if len(rows) == 1:
        return "\n".join(notes)
    widths = [max(len(row[n]) for row in rows) for n in range(len(rows[0]))]
    rendered = ["  ".join(cell.ljust(width) if n == 0 else cell.rjust(width)
                          for n, (cell, width) in enumerate(zip(row, widths, strict=True)))
                for row in rows]
    legend = "\n".join([
        "wall s: with --repeats, the run of median wall time",
        "CPU s: CPU seconds while the sweep ran (the handler's: all its processes together)",
        "others: the share of the cores that other processes used meanwhile",
        "CPU-bound: the CPU time the run took would not fit in the time the goal allows",
        "!: the figure misses its goal",
    ])
    goals = (f"goals: calls eff >= {GOALS.call_efficiency}, wall <= {GOALS.wall_vs_bound} x bound"
             f" (unless CPU-bound), throttled < {percent(GOALS.throttled_share)}, peak RSS <"
             f" {GOALS.peak_rss_mb:g} MB")
    return "\n".join([*rendered, legend, goals, *notes])


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.what == "transports":
        from bench.transports import compare

        print(json.dumps(compare()))
        return 0
    lines: list[dict[str, Any]] = []

    def emit(line: dict[str, Any]) -> None:
        lines.append(line)
        print(json.dumps(line), flush=True)

    run_shapes(args, emit)
    run_extras(args, emit)
    emit(machine())
    print(table(lines), file=sys.stderr)
    return 0
