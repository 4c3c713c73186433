#!/usr/bin/env bash
# Mutation testing of sim/model/{mechanics,attention,feed,market}.py. Outside CI.
#
# mutmut 3 (default) forks every mutant from one warmed-up pytest process and
# runs only the selected tests that reach the mutated function; cosmic-ray
# (--cosmic-ray) starts a fresh pytest per mutant, which on this shared
# 2-core machine cost ~30 s a mutant (see docs/testing.md).
# Both rewrite source files, so they work on a copy of the checked-out tree
# (tracked and untracked files, uncommitted edits included) in $MUTATION_DIR
# (default: the system temp dir). Runs resume: mutants already run are kept.
#
#   scripts/mutation.sh                 # every mutant (about 1400; an hour or more)
#   scripts/mutation.sh --sample N      # all of mechanics/attention/feed, N random market.py mutants
#   scripts/mutation.sh --report        # print the score and the survivors (with diffs)
#   scripts/mutation.sh --fresh ...     # forget earlier results first
#   scripts/mutation.sh --cosmic-ray    # the same modules with cosmic-ray (slow)
# Environment: MUTATION_JOBS (parallel mutants, default 1), MUTATION_SEED (sample seed, default 0).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${MUTATION_DIR:-${TMPDIR:-/tmp}/attention-market-mutation}"
jobs="${MUTATION_JOBS:-1}"
seed="${MUTATION_SEED:-0}"
unset PYTHONPATH  # the copy's own sim/ must win over the editable install

sync_tree() {  # copy the current tree into $work/tree; mutmut's mutants/ folder stays
    mkdir -p "$work/tree"
    (cd "$repo" && git ls-files -co --exclude-standard -z \
        | tar --null --ignore-failed-read -T - -cf -) | tar -xf - -C "$work/tree"
    cp "$repo/mutation/setup.cfg" "$work/tree/setup.cfg"
    if [ -d "$work/tree/mutants" ]; then  # new or changed tests: mutmut must see them
        cp -r "$work/tree/tests/." "$work/tree/mutants/tests/"
        rm -f "$work/tree/mutants/mutmut-stats.json"
    fi
}

report() {
    cd "$work/tree"
    echo "revision: $(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet HEAD || echo ' +uncommitted')"
    python "$repo/mutation/mutmut_score.py" --diffs
}

if [ "${1:-}" = "--fresh" ]; then rm -rf "$work"; shift; fi
case "${1:-all}" in
    --report) report; exit 0 ;;
    --cosmic-ray)
        sync_tree
        cd "$work/tree"
        export PYTHONPATH="$work/tree"
        if [ ! -f "$work/session.sqlite" ]; then
            cosmic-ray init mutation/cosmic-ray.toml "$work/session.sqlite"
            cr-filter-operators "$work/session.sqlite" mutation/cosmic-ray.toml
        fi
        cosmic-ray exec mutation/cosmic-ray.toml "$work/session.sqlite"
        python "$repo/mutation/report.py" "$work/session.sqlite"
        exit 0 ;;
    --sample)
        sync_tree
        cd "$work/tree"
        [ -d mutants ] || mutmut run --max-children "$jobs" "sim.model.mechanics.x_initial_attention__mutmut_1"
        mapfile -t names < <(python "$repo/mutation/sample.py" "$seed" "market.py=${2:?--sample needs a count}")
        [ "${#names[@]}" -eq 0 ] || mutmut run --max-children "$jobs" "${names[@]}" ;;
    all) sync_tree; cd "$work/tree"; mutmut run --max-children "$jobs" ;;
    *) echo "usage: scripts/mutation.sh [--fresh] [--sample N | --report | --cosmic-ray]" >&2; exit 2 ;;
esac
report
