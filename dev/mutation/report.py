"""Mutation score and surviving mutants of a cosmic-ray session, as plain text.

Usage: python dev/mutation/report.py SESSION.sqlite [--retest-survivors]

Counts: killed (the tests failed or timed out), survived, skipped by the
operator filter, pending (not run yet: a partial run is a uniform random
sample, since cosmic-ray runs pending mutants in random order). The score is
killed / (killed + survived); the survivors are listed by module, line,
function and operator, each with its one-line diff. ``--retest-survivors``
forgets the survivors' results so the next ``cosmic-ray exec`` tests them
again with the current tests.
"""

from __future__ import annotations

import sqlite3
import sys
from collections import Counter


def main(path: str, retest: bool = False) -> int:
    db = sqlite3.connect(path)
    rows = db.execute(
        """select m.module_path, m.start_pos_row, m.definition_name, m.operator_name,
                  r.worker_outcome, r.test_outcome, r.diff, m.job_id
           from mutation_specs m left join work_results r using (job_id)"""
    ).fetchall()
    state = Counter()
    per_module = Counter()
    survivors = []
    for module, row, func, op, worker, test, diff, job in rows:
        if worker is None:
            kind = "pending"
        elif worker == "SKIPPED":
            kind = "skipped"
        elif worker == "NORMAL" and test == "SURVIVED":
            kind = "survived"
            survivors.append((module, row, func, op, diff, job))
        elif worker == "NORMAL" and test == "KILLED":
            kind = "killed"
        elif worker == "ABNORMAL" or test == "INCOMPETENT":
            kind = "killed"  # crashed or timed out: the tests noticed
        else:
            kind = f"other:{worker}/{test}"
        state[kind] += 1
        per_module[(module, kind)] += 1
    if retest:
        db.executemany("delete from work_results where job_id = ?", [(s[-1],) for s in survivors])
        db.commit()
        print(f"forgot {len(survivors)} survivors; run cosmic-ray exec again to retest them")
        return 0
    done = state["killed"] + state["survived"]
    print(f"session {path}")
    print("mutants:", ", ".join(f"{k} {v}" for k, v in sorted(state.items())))
    for module in sorted({m for m, _ in per_module}):
        k, s = per_module[(module, "killed")], per_module[(module, "survived")]
        print(f"  {module}: killed {k}, survived {s}, pending {per_module[(module, 'pending')]}"
              + (f", score {k / (k + s):.1%}" if k + s else ""))
    if done:
        print(f"score: {state['killed']}/{done} = {state['killed'] / done:.1%} of the mutants run killed")
    print(f"survivors ({len(survivors)}):")
    for module, row, func, op, diff, job in sorted(survivors):
        changed = [ln for ln in (diff or "").splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
        print(f"  {module}:{row} {func} {op} {job}")
        for ln in changed:
            print(f"      {ln.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], "--retest-survivors" in sys.argv[2:]))
