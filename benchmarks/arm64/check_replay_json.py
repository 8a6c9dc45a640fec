"""Check ``hubd replay --json`` output: every line one JSON object with DESIGN.md's fields.

    python3 check_replay_json.py FILE            # validate; print the count of alert lines
    python3 check_replay_json.py --summary FILE  # one line: count per alert type

Exit 1 (with the line number) on the first bad line, or when there is no line at all.
"""

from __future__ import annotations

import collections
import json
import sys

REQUIRED = ("time", "type", "category")


def read_alerts(path: str) -> list[dict]:
    alerts = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            try:
                obj = json.loads(line)
            except ValueError as exc:
                sys.exit(f"{path}:{number}: not JSON ({exc}): {line[:80]!r}")
            if not isinstance(obj, dict) or any(key not in obj for key in REQUIRED):
                sys.exit(f"{path}:{number}: not an alert object with {', '.join(REQUIRED)}: {line[:80]!r}")
            if obj["category"] not in ("resident", "system"):
                sys.exit(f"{path}:{number}: category {obj['category']!r} is neither resident nor system")
            alerts.append(obj)
    if not alerts:
        sys.exit(f"{path}: no JSON lines (the replay raised no alert over a month of real life?)")
    return alerts


def main(argv: list[str]) -> None:
    summary = argv[:1] == ["--summary"]
    alerts = read_alerts(argv[-1])
    if summary:
        counts = collections.Counter(a["type"] for a in alerts)
        print("alerts: " + ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items())))
    else:
        print(f"{len(alerts)} JSON alert lines, first {alerts[0]['time']} {alerts[0]['type']}")


if __name__ == "__main__":
    main(sys.argv[1:])
