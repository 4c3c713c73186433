#!/usr/bin/env bash
# Mutation testing of sim/model/{mechanics,attention,feed,market}.py with cosmic-ray.
#
# Runs outside CI (about 1200 mutants, each a pytest run of a few seconds).
# cosmic-ray rewrites module files on disk while it works, so it runs on a
# copy of the checked-out tree (tracked and untracked files, uncommitted
# edits included) in $MUTATION_DIR (default: the system temp dir). The
# session is resumable: rerunning continues with the mutants not yet run;
# a partial run is a uniform random sample (cosmic-ray picks pending mutants
# in random order). Prints the score and every surviving mutant.
#
#   scripts/mutation.sh                     # init if needed, run, report
#   scripts/mutation.sh --fresh             # forget the old session first
#   scripts/mutation.sh --report            # only print the score
#   scripts/mutation.sh --retest-survivors  # re-run the survivors with the current tests
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${MUTATION_DIR:-${TMPDIR:-/tmp}/attention-market-mutation}"
config="$work/tree/mutation/cosmic-ray.toml"
session="$work/session.sqlite"
mode="${1:-run}"

sync_tree() {  # copy the current tree (sources and tests) into the scratch copy
    mkdir -p "$work/tree"
    (cd "$repo" && git ls-files -co --exclude-standard -z \
        | tar --null --ignore-failed-read -T - -cf -) | tar -xf - -C "$work/tree"
}

case "$mode" in
    --report) python "$repo/mutation/report.py" "$session"; exit 0 ;;
    --fresh) rm -rf "$work" ;;
    --retest-survivors) sync_tree; python "$repo/mutation/report.py" "$session" --retest-survivors ;;
    run) ;;
    *) echo "usage: scripts/mutation.sh [--fresh|--report|--retest-survivors]" >&2; exit 2 ;;
esac

sync_tree
cd "$work/tree"
export PYTHONPATH="$work/tree"
echo "revision: $(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet || echo +uncommitted)"
if [ ! -f "$session" ]; then
    cosmic-ray init "$config" "$session"
    cr-filter-operators "$session" "$config"
    cosmic-ray baseline "$config"  # the unmutated tree must pass the selection
fi
cosmic-ray exec "$config" "$session"
python "$repo/mutation/report.py" "$session"
