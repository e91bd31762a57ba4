"""Write the benchmark results as JSON, print them as a table and draw the ratio chart.

Usage: report.py RESULTS_TSV RESULTS_JSON CHART_PNG

RESULTS_TSV has one line per target, as written by `record` in tests/bench/lib.sh. The run's
settings come from environment variables that scripts/bench.sh sets. The chart needs
matplotlib; without it the JSON and the table are still written and the chart is skipped.
"""

import json
import os
import sys

FIELDS = ["id", "title", "work", "baseline", "unit", "ratio", "op", "target", "verdict", "note",
          "work_cpu", "baseline_cpu", "cpu_ratio"]
NUMBERS = ("work", "baseline", "ratio", "target", "work_cpu", "baseline_cpu", "cpu_ratio")


def number(text):
    """Return text as a float, or None when it is not a number."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value else None


def read_results(path):
    results = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            values = line.rstrip("\n").split("\t")
            if len(values) == len(FIELDS) - 3:
                values += ["", "", ""]  # a record without CPU figures
            if len(values) != len(FIELDS):
                raise SystemExit(f"invalid line in {path}: expected {len(FIELDS)} fields, got {len(values)}: {line!r}")
            row = dict(zip(FIELDS, values))
            for key in NUMBERS:
                row[key] = number(row[key])
            if row["op"] == "-":
                row["op"] = None
            results.append(row)
    return results


def print_table(results):
    def text(value, digits=1):
        return "" if value is None else f"{value:.{digits}f}"

    print()
    print(f"{'target':<48} {'work':>10} {'baseline':>10} {'unit':<4} {'ratio':>7}  {'target':<7} "
          f"{'verdict':<7} {'cpu ratio':>9}")
    for row in results:
        target = "" if row["op"] is None else f"{row['op']}{row['target']:g}"
        print(f"{row['title']:<48} {text(row['work']):>10} {text(row['baseline']):>10} {row['unit']:<4} "
              f"{text(row['ratio'], 3):>7}  {target:<7} {row['verdict']:<7} {text(row['cpu_ratio'], 3):>9}")


def draw_chart(results, path, subtitle):
    """Draw one horizontal bar per ratio on a logarithmic axis, with its target as a black tick."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"matplotlib is not installed: skipped the chart {path}", file=sys.stderr)
        return False
    rows = [row for row in results if row["ratio"] is not None and row["ratio"] > 0]
    colors = {"PASS": "#3a923a", "FAIL": "#c83737"}
    values = [row["ratio"] for row in rows] + [row["target"] for row in rows if row["target"]]
    left = min(values + [1.0]) / 2
    right = max(values + [1.0]) * 10
    figure, axes = plt.subplots(figsize=(10, 0.55 * len(rows) + 1.8))
    axes.set_xscale("log")
    positions = list(range(len(rows)))[::-1]
    for y, row in zip(positions, rows):
        color = colors.get(row["verdict"], "#8c8c8c")
        axes.barh(y, row["ratio"] - left, left=left, color=color, height=0.6)
        if row["op"] is not None:
            axes.plot([row["target"], row["target"]], [y - 0.4, y + 0.4], color="black", linewidth=2)
            label = f"{row['ratio']:.2f}  (target {row['op']} {row['target']:g}: {row['verdict']})"
        else:
            label = f"{row['ratio']:.2f}  ({row['verdict']})"
        axes.text(row["ratio"], y, "  " + label, va="center", fontsize=8)
    axes.axvline(1.0, color="#555555", linewidth=0.8, linestyle=":")
    axes.set_xlim(left, right)
    axes.set_yticks(positions)
    axes.set_yticklabels([row["title"] for row in rows], fontsize=8)
    axes.set_xlabel("measured ratio, log scale (as each target defines it); black tick = target")
    axes.set_title(f"pg_softdelete benchmark ratios\n{subtitle}", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    tsv, json_path, chart_path = sys.argv[1:]
    results = read_results(tsv)
    run = {
        "command": os.environ.get("BENCH_COMMAND", "bash scripts/bench.sh"),
        "scale": float(os.environ.get("BENCH_SCALE", "1.0")),
        "repetitions": int(os.environ.get("BENCH_REPEAT", "3")),
        "workloads": os.environ.get("BENCH_WORKLOADS", ""),
        "started_at": os.environ.get("BENCH_STARTED_AT", ""),
        "runtime_seconds": int(os.environ.get("BENCH_RUNTIME", "0")),
        "postgres_version": os.environ.get("BENCH_PG_VERSION", ""),
        "git_commit": os.environ.get("BENCH_GIT_COMMIT", ""),
        "library": os.environ.get("BENCH_LIBRARY", ""),
        "settings": [line for line in os.environ.get("BENCH_SETTINGS", "").splitlines() if line],
        "medians_of": "each time or tps is the median of the repetitions; ratio is computed from the medians",
        "cpu_figures": "work_cpu and baseline_cpu are the median CPU time of the whole cluster during the "
                       "measurement (ms, or us per transaction for pgbench); cpu_ratio is their ratio, "
                       "in the same direction as ratio",
    }
    with open(json_path, "w", encoding="utf-8") as output:
        json.dump({"run": run, "results": results}, output, indent=2)
        output.write("\n")
    print_table(results)
    subtitle = f"scale {run['scale']:g}, {run['repetitions']} repetitions, {run['started_at']}"
    if draw_chart(results, chart_path, subtitle):
        print(f"\nwrote {json_path} and {chart_path}")
    else:
        print(f"\nwrote {json_path}")


if __name__ == "__main__":
    main()
