"""Split the samples of a backend's perf profile between the statement and the audit trigger.

Usage: perf script -i FILE.data | perf_split.py

Reads the call stacks that `perf script` prints and attributes each sample to one part, by
the first of these rules that matches:
  - after triggers: the stack passes through AfterTriggerEndQuery, where PostgreSQL fires the
    statement-level AFTER triggers, so this is the audit trigger of pg_softdelete with the SQL
    it runs and the foreign-key rules it applies;
  - statement: the stack passes through standard_ExecutorRun, the execution of the statement
    itself (for a soft delete: the UPDATE of the marker columns and the capture of the
    transition table);
  - parse and plan: the stack passes through the parser or the planner (the planner hook of
    pg_softdelete included);
  - truncated: the stack ends before PostgresMain, so its part is unknown;
  - other: everything else.
Within each part it counts the samples that pass through some functions of interest (a sample
can count for several of them). Prints both as percentages of all samples. Only symbols that
the postgres binary exports are named; Debian strips the others.
"""

import sys
from collections import Counter

# Activity label -> function names that mark it (substring match on the symbol).
ACTIVITIES = [
    ("B-tree index insertion", ("btinsert",)),
    ("heap_update", ("heap_update",)),
    ("heap_insert", ("heap_insert",)),
    ("WAL record insertion", ("XLogInsert",)),
    ("transition row capture", ("ExecARUpdateTriggers", "AfterTriggerSaveEvent")),
    ("tuplestore (transition table)", ("tuplestore_",)),
    ("temporary file writes", ("BufFileWrite", "BufFileDumpBuffer")),
    ("jsonb_build_object", ("jsonb_build_object",)),
    ("parse and plan (SPI included)", ("raw_parser", "parse_analyze", "pg_analyze_and_rewrite",
                                       "standard_planner", "pg_plan_query", "_SPI_prepare")),
    ("sequence nextval", ("nextval_internal",)),
    ("catalog cache and lookups", ("SearchCatCache", "systable_", "RelationIdGetRelation")),
]


def samples(lines):
    """Yield the frames (symbol, dso) of each sample."""
    frames = []
    for line in lines:
        if not line.strip():
            if frames:
                yield frames
            frames = []
            continue
        if not line.startswith(("\t", " ")):
            continue
        parts = line.strip().split(" ", 1)
        if len(parts) < 2:
            continue
        rest = parts[1]
        symbol, _, dso = rest.rpartition(" (")
        frames.append((symbol, dso.rstrip(")")))
    if frames:
        yield frames


PARSE_AND_PLAN = ("raw_parser", "parse_analyze", "pg_analyze_and_rewrite", "standard_planner", "pg_plan_query")


def part_of(frames):
    symbols = [symbol for symbol, _ in frames]

    def passes(*names):
        return any(symbol.startswith(name) for symbol in symbols for name in names)

    if passes("AfterTriggerEndQuery"):
        return "after triggers"
    if passes("standard_ExecutorRun"):
        return "statement"
    if passes(*PARSE_AND_PLAN):
        return "parse and plan"
    if not passes("PostgresMain", "main+", "_start"):
        return "truncated"
    return "other"


def main():
    total = 0
    parts = Counter()
    activities = Counter()
    for frames in samples(sys.stdin):
        total += 1
        part = part_of(frames)
        parts[part] += 1
        symbols = [symbol for symbol, _ in frames]
        for label, markers in ACTIVITIES:
            if any(marker in symbol for symbol in symbols for marker in markers):
                activities[(part, label)] += 1
    if total == 0:
        raise SystemExit("no samples on standard input; pipe `perf script -i FILE.data` into this script")
    print(f"{total} samples")
    for part in ("statement", "after triggers", "parse and plan", "other", "truncated"):
        print(f"{part:<16} {100 * parts[part] / total:5.1f}%")
        for label, _ in ACTIVITIES:
            count = activities[(part, label)]
            if count:
                print(f"    {label:<32} {100 * count / total:5.1f}%")


if __name__ == "__main__":
    main()
