"""Names of the mutants to run: every mutant of some modules, a random sample of others.

Usage (from the folder mutmut ran in, after ``mutmut run`` generated the
mutants): python sample.py SEED [--all] [--only MODULE,MODULE] MODULE=COUNT ...
e.g. ``0 market.py=250`` or ``0 --only mechanics.py,items.py``.
Modules not named are taken whole; with --only, modules neither in the list
nor given a count are left out. Mutants already run are left out, so a
cut-short run resumes with what is missing (--all: prints them too, for
the record of which mutants a sample holds). Prints one name per line.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path


def main(seed: int, quotas: dict[str, int], only: set[str] | None, every: bool = False) -> int:
    rng = random.Random(seed)
    for meta in sorted(Path("mutants").rglob("*.py.meta")):
        module = meta.name[: -len(".meta")]
        if only is not None and module not in only and module not in quotas:
            continue
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        names = sorted(codes)
        quota = quotas.get(module)
        if quota is not None and quota < len(names):
            names = sorted(rng.sample(names, quota))
        for name in names:
            if every or codes[name] is None:
                print(name)
    return 0


if __name__ == "__main__":
    args = sys.argv[2:]
    every = args[:1] == ["--all"]
    args = args[1:] if every else args
    only = None
    if args[:1] == ["--only"]:
        only = {m for m in args[1].split(",") if m}
        args = args[2:]
    quotas = dict(arg.split("=") for arg in args)
    sys.exit(main(int(sys.argv[1]), {k: int(v) for k, v in quotas.items()}, only, every))
