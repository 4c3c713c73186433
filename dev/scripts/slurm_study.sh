#!/bin/bash
# A single-node Slurm on this machine (Debian's slurm-wlm and munge), then a tiny
# study through the dask-jobqueue SLURMCluster recipe of docs/sweeps.md.
#
#   sudo bash dev/scripts/slurm_study.sh            # from the checkout's root; needs root (apt, daemons)
#
# What it does: installs slurm-wlm and munge if missing; starts munged as the
# munge user; writes a minimal slurm.conf (auth/munge, proctrack/linuxproc,
# task/none, select/cons_tres, one node named after `hostname`, its CPUs and
# memory as `slurmd -C` reports them); starts slurmctld and slurmd; runs
# docs/sweeps.md's SLURMCluster recipe (workers submitted as a Slurm job) and
# a tiny study on it with --scheduler; compares the runs with a local run.
# Everything it starts it stops at the end. Output: $WORK (default /tmp/slurm_study).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="${WORK:-/tmp/slurm_study}"
PYTHON="${PYTHON:-$(command -v python)}"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$WORK"
say() { echo "[slurm_study] $*"; }

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    say "installing slurm-wlm and munge from Debian"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >"$WORK/apt.log" 2>&1 \
        || { apt-get update -q >>"$WORK/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >>"$WORK/apt.log" 2>&1; }
fi

# -- munge, as the munge user ---------------------------------------------------
[ -s /etc/munge/munge.key ] || { mungekey --create --keyfile /etc/munge/munge.key 2>/dev/null || \
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; }
chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge && chown munge:munge /run/munge /var/log/munge /var/lib/munge
if ! munge -n >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged --foreground >"$WORK/munged.log" 2>&1 &
    MUNGED_PID=$!
    for _ in $(seq 20); do munge -n >/dev/null 2>&1 && break; sleep 0.5; done
fi
munge -n | unmunge >/dev/null && say "munge works"

# -- a minimal slurm.conf ------------------------------------------------------------
HOST="$(hostname)"
NODE="$(slurmd -C | head -1)"   # NodeName=<host> CPUs=... RealMemory=...
CONF_DIR=/etc/slurm
mkdir -p "$CONF_DIR" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat >"$CONF_DIR/slurm.conf" <<CONF
ClusterName=local
SlurmctldHost=$HOST
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
MpiDefault=none
$NODE State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
say "slurm.conf: $NODE"

cleanup() {  # stops only the processes this script started, by their ids
    say "stopping what this script started"
    exec 9>&- 2>/dev/null || true  # the recipe reads end-of-input and stops its cluster
    [ -n "${CLUSTER_PID:-}" ] && kill "$CLUSTER_PID" 2>/dev/null || true
    if [ -n "${CTLD_PID:-}" ]; then
        scancel --user="$(id -un)" 2>/dev/null || true
        for _ in $(seq 30); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 1; done
    fi
    for pid in ${SLURMD_PID:-} ${CTLD_PID:-} ${MUNGED_PID:-}; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT
slurmctld -D >/dev/null 2>&1 &
CTLD_PID=$!
slurmd -D >/dev/null 2>&1 &
SLURMD_PID=$!
for _ in $(seq 60); do sinfo -h -o "%T" 2>/dev/null | grep -qE "idle|mixed" && break; sleep 1; done
sinfo
srun -N1 -n1 hostname | sed "s/^/[slurm_study] srun hostname: /"

# -- the dask-jobqueue recipe of docs/sweeps.md, sized for this machine --------
cat >"$WORK/slurm_cluster.py" <<PY
import sys
import dask
from dask_jobqueue import SLURMCluster

dask.config.set({"distributed.scheduler.worker-saturation": 1.0})   # the scheduler runs in this process
cluster = SLURMCluster(
    queue="debug",                     # the partition; add account="..." where your site needs one
    cores=2, processes=2,              # 2 single-threaded workers per job
    memory="2GB", walltime="00:30:00",
    local_directory="$WORK/dask-scratch",
    log_directory="$WORK/logs",         # the jobs' slurm-*.out (default: the current folder)
    job_script_prologue=["export PYTHONPATH=$PYTHONPATH",
                         "export DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False"],
    python="$PYTHON",
    scheduler_options={"dashboard_address": None},
)
print(cluster.job_script(), file=sys.stderr, flush=True)
cluster.scale(jobs=1)                  # 2 workers
print(cluster.scheduler_address, flush=True)
input("press Enter to stop the cluster\n")
PY
rm -f "$WORK/address" && mkfifo "$WORK/stop" 2>/dev/null || true
"$PYTHON" "$WORK/slurm_cluster.py" <"$WORK/stop" >"$WORK/address" 2>"$WORK/cluster.log" &
CLUSTER_PID=$!
exec 9>"$WORK/stop"   # keeps the recipe's input() waiting until the end
for _ in $(seq 120); do [ -s "$WORK/address" ] && break; sleep 1; done
ADDRESS="$(head -1 "$WORK/address")"
say "scheduler: $ADDRESS"
"$PYTHON" - "$ADDRESS" <<'PY'
import sys
from distributed import Client
with Client(sys.argv[1], timeout=60) as client:
    client.wait_for_workers(2, timeout=300)
    print("[slurm_study] workers:", sorted(w["host"] for w in client.scheduler_info()["workers"].values()))
PY
squeue

# -- a tiny study through the cluster, and the same study locally ----------------
cat >"$WORK/tiny_duel.yaml" <<YAML
name: tiny_duel
width: 12
height: 12
steps: 30
home_radius: 2
firms:
  - {name: broadcast, preset: broadcast, ads_per_day: 30, budget: 6.3}
  - {name: dialogue, preset: dialogue, budget: 3}
YAML
cat >"$WORK/tiny_study.yaml" <<YAML
name: tiny_slurm_study
question: Does push lose late reach to dialogue in a tiny world?
scenario: $WORK/tiny_duel.yaml
region:
  attention_mean: {bounds: [5, 60]}
  ranking: {values: [engagement, chronological]}
  firms.broadcast.ads_per_day: {bounds: [0, 20]}
samples: 12
replications: 2
seed: 1
YAML
rm -rf "$WORK/slurm_out" "$WORK/local_out"
cd "$REPO"
say "study on Slurm: python run.py study $WORK/tiny_study.yaml --scheduler $ADDRESS"
"$PYTHON" run.py study "$WORK/tiny_study.yaml" --scheduler "$ADDRESS" --out "$WORK/slurm_out" --quiet
say "the same study locally"
"$PYTHON" run.py study "$WORK/tiny_study.yaml" --workers 2 --out "$WORK/local_out" --quiet >/dev/null
"$PYTHON" - "$WORK" <<'PY'
import sys
from pathlib import Path
import pandas as pd
from sim.sweep.store import SweepFolder
work = Path(sys.argv[1])
a, b = (SweepFolder(work / n).read_runs().drop(columns="wall_time") for n in ("slurm_out", "local_out"))
pd.testing.assert_frame_equal(a, b)
same = (work / "slurm_out/analysis/answer.csv").read_text() == (work / "local_out/analysis/answer.csv").read_text()
print(f"[slurm_study] {len(a)} runs on Slurm equal the local runs; answer.csv identical: {same}")
PY
squeue
