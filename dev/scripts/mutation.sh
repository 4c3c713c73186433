#!/usr/bin/env bash
# Mutation testing of the model's core (sim/model/{mechanics,items,outputs,
# kernels,attention,feed,firm,market}.py, see dev/mutation/setup.cfg). Outside CI.
#
# mutmut 3 (default) forks every mutant from one warmed-up pytest process and
# runs only the selected tests that reach the mutated function; cosmic-ray
# (--cosmic-ray) starts a fresh pytest per mutant, which on this shared
# 2-core machine cost ~30 s a mutant (see docs/testing.md).
# Both rewrite source files, so they work on a copy of the checked-out tree
# (tracked and untracked files, uncommitted edits included) in $MUTATION_DIR
# (default: the system temp dir). Runs resume: mutants already run are kept.
#
# numba: mutmut skips decorated functions and replaces the others by a Python
# trampoline that compiled code cannot call. So the copy's `@njit(...)` lines
# are commented out (line numbers stay) and everything runs with
# NUMBA_DISABLE_JIT=1, under which @njit returns the plain Python function
# anyway: the mutated formulas and kernels run as the Python they are written in.
#
#   dev/scripts/mutation.sh                          # every mutant (an hour or more)
#   dev/scripts/mutation.sh --only mechanics.py,items.py   # every mutant of these modules
#   dev/scripts/mutation.sh --sample N               # all of the other modules, N random market.py mutants
#   dev/scripts/mutation.sh --only attention.py --quota kernels.py=150  # a random sample of kernels.py too
#   dev/scripts/mutation.sh --only feed.py --sample N      # ... only feed.py and the market.py sample
#   dev/scripts/mutation.sh --report                 # print the score and the survivors (with diffs)
#   dev/scripts/mutation.sh --fresh ...              # forget earlier results first
#   dev/scripts/mutation.sh --retest NAME...         # run the named mutants again (e.g. after new tests)
#   dev/scripts/mutation.sh --cosmic-ray             # mechanics/attention/feed/market with cosmic-ray (slow)
# Environment: MUTATION_JOBS (parallel mutants, default 1), MUTATION_SEED (sample seed, default 0).
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="${MUTATION_DIR:-${TMPDIR:-/tmp}/attention-market-mutation}"
jobs="${MUTATION_JOBS:-1}"
seed="${MUTATION_SEED:-0}"
unset PYTHONPATH  # the copy's own sim/ must win over the editable install
export NUMBA_DISABLE_JIT=1  # inherited by mutmut's forked workers and cosmic-ray's pytest runs

sync_tree() {  # copy the current tree into $work/tree; mutmut's mutants/ folder stays
    mkdir -p "$work/tree"
    (cd "$repo" && git ls-files -co --exclude-standard -z \
        | tar --null --ignore-failed-read -T - -cf -) | tar -xf - -C "$work/tree"
    cp "$repo/dev/mutation/setup.cfg" "$work/tree/setup.cfg"
    # mutmut mutates no decorated function: drop @njit (a no-op under NUMBA_DISABLE_JIT=1)
    sed -i -E 's/^([[:space:]]*)(@njit\b.*)$/\1# \2  (stripped for mutation testing)/' "$work/tree"/sim/model/*.py
    local tests_sum
    tests_sum="$(cd "$work/tree" && cat setup.cfg tests/*.py | sha1sum)"
    if [ -d "$work/tree/mutants" ]; then
        cp -r "$work/tree/tests/." "$work/tree/mutants/tests/"
        # new or changed tests: mutmut must collect which tests reach which function again
        # (it keeps the results of the mutants already run; --retest runs survivors again)
        if [ "$tests_sum" != "$(cat "$work/tests.sha1" 2>/dev/null)" ]; then
            rm -f "$work/tree/mutants/mutmut-stats.json"
        fi
    fi
    echo "$tests_sum" > "$work/tests.sha1"
}

report() {
    cd "$work/tree"
    echo "revision: $(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet HEAD || echo ' +uncommitted')"
    python "$repo/dev/mutation/mutmut_score.py" --diffs --samples "$work/samples"
}

generate() {  # mutmut writes the mutants (and their .meta files) on its first run
    [ -d mutants ] || mutmut run --max-children "$jobs" "sim.model.mechanics.x_initial_attention__mutmut_1"
}

fresh=0 only="" sample="" mode=all quotas=()
names=()
while [ $# -gt 0 ]; do
    case "$1" in
        --fresh) fresh=1 ;;
        --only) only="${2:?--only needs module names, e.g. mechanics.py,items.py}"; shift ;;
        --sample) sample="${2:?--sample needs a count}"; shift ;;
        --quota) quotas+=("${2:?--quota needs MODULE=COUNT}"); shift ;;
        --report) mode=report ;;
        --cosmic-ray) mode=cosmic-ray ;;
        --retest) mode=retest; shift; names=("$@"); break ;;
        *) echo "usage: dev/scripts/mutation.sh [--fresh] [--only MOD,MOD] [--sample N] [--quota MOD=N]... | --report | --retest NAME... | --cosmic-ray" >&2; exit 2 ;;
    esac
    shift
done
[ "$fresh" = 0 ] || rm -rf "$work"

case "$mode" in
    report) report; exit 0 ;;
    cosmic-ray)
        sync_tree
        cd "$work/tree"
        export PYTHONPATH="$work/tree"
        if [ ! -f "$work/session.sqlite" ]; then
            cosmic-ray init dev/mutation/cosmic-ray.toml "$work/session.sqlite"
            cr-filter-operators "$work/session.sqlite" dev/mutation/cosmic-ray.toml
        fi
        cosmic-ray exec dev/mutation/cosmic-ray.toml "$work/session.sqlite"
        python "$repo/dev/mutation/report.py" "$work/session.sqlite"
        exit 0 ;;
    retest)
        sync_tree; cd "$work/tree"; generate
        mutmut run --max-children "$jobs" "${names[@]}" ;;
    all)
        sync_tree; cd "$work/tree"
        if [ -z "$only$sample${quotas[*]}" ]; then
            mutmut run --max-children "$jobs"
        else
            generate
            args=()
            [ -z "$only" ] || args+=(--only "$only")
            [ -z "$sample" ] || args+=("market.py=$sample")
            args+=("${quotas[@]}")
            mapfile -t names < <(python "$repo/dev/mutation/sample.py" "$seed" "${args[@]}")
            mkdir -p "$work/samples"  # which mutants each sample holds (same call, same draws), for --report
            python "$repo/dev/mutation/sample.py" "$seed" --all "${args[@]}" > "$work/samples/all.txt"
            for quota in "${args[@]}"; do
                case "$quota" in *=*)
                    module="${quota%%=*}"
                    grep -F "sim.model.${module%.py}." "$work/samples/all.txt" > "$work/samples/$module.txt" || true ;;
                esac
            done
            [ "${#names[@]}" -eq 0 ] || mutmut run --max-children "$jobs" "${names[@]}"
        fi ;;
esac
report
