"""Mutation score of a mutmut 3 run, per module, with every surviving mutant and its diff.

Usage (from the folder mutmut ran in): python mutmut_score.py [--diffs] [--samples DIR]

With --samples, a module that has a file DIR/<module>.txt (the names of a
random sample, written by dev/scripts/mutation.sh) is counted over those names
only, so mutants run outside the sample do not bias its score.

Reads mutants/**/*.py.meta (mutmut's per-module results). Killed counts
test failures, timeouts and crashes; "no tests" are mutants of functions no
selected test reaches; pending mutants were not run yet (the run was cut
short). The score is killed / (killed + survived + no tests).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

KILLED = {1, 3, 24, -24, 36, 152, 255, -9, -11}


def status(code) -> str:
    if code is None:
        return "pending"
    if code in KILLED:
        return "killed"
    return {0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", 37: "killed"}.get(code, "suspicious")


def main(show_diffs: bool, samples: Path | None = None) -> int:
    total = Counter()
    survivors = []
    for meta in sorted(Path("mutants").rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        sample = samples / meta.name.replace(".py.meta", ".py.txt") if samples else None
        label = ""
        if sample is not None and sample.exists():
            keep = set(sample.read_text().split())
            label = f" (random sample of {len(keep)} of {len(codes)})"
            codes = {k: v for k, v in codes.items() if k in keep}
        counts = Counter(status(c) for c in codes.values())
        if not codes:
            continue
        total.update(counts)
        done = counts["killed"] + counts["survived"] + counts["no tests"]
        score = f", score {counts['killed'] / done:.1%}" if done else ""
        module = str(meta.relative_to("mutants"))[: -len(".meta")]
        print(f"{module}{label}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + score)
        survivors += [name for name, code in codes.items() if status(code) in ("survived", "no tests")]
    done = total["killed"] + total["survived"] + total["no tests"]
    print("all: " + ", ".join(f"{k} {v}" for k, v in sorted(total.items())))
    if done:
        print(f"score: {total['killed']}/{done} = {total['killed'] / done:.1%} of the mutants run killed")
    print(f"survivors ({len(survivors)}):")
    for name in survivors:
        print(f"  {name}")
        if show_diffs:
            diff = subprocess.run(["mutmut", "show", name], capture_output=True, text=True).stdout
            for line in diff.splitlines():
                if line[:1] in "+-" and not line.startswith(("+++", "---")):
                    print(f"      {line}")
    return 0


if __name__ == "__main__":
    argv = sys.argv[1:]
    samples = Path(argv[argv.index("--samples") + 1]) if "--samples" in argv else None
    sys.exit(main("--diffs" in argv, samples))
