"""Names of the mutants to run: every mutant of some modules, a random sample of others.

Usage (from the folder mutmut ran in, after ``mutmut run`` generated the
mutants): python sample.py SEED MODULE=COUNT ...   e.g. market.py=250
Modules not named are taken whole. Mutants already run are left out, so a
cut-short run resumes with what is missing. Prints one name per line.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path


def main(seed: int, quotas: dict[str, int]) -> int:
    rng = random.Random(seed)
    for meta in sorted(Path("mutants").rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        names = sorted(codes)
        quota = quotas.get(meta.name[: -len(".meta")])
        if quota is not None and quota < len(names):
            names = sorted(rng.sample(names, quota))
        for name in names:
            if codes[name] is None:
                print(name)
    return 0


if __name__ == "__main__":
    quotas = dict(arg.split("=") for arg in sys.argv[2:])
    sys.exit(main(int(sys.argv[1]), {k: int(v) for k, v in quotas.items()}))
