#!/usr/bin/env bash
# A single-node Slurm cluster on localhost, for tests and for trying entk's job arrays.
#
#   tools/slurm/cluster.sh start   writes a config under $ENTK_SLURM_DIR (default /tmp/entk-slurm),
#                                  starts munged, slurmctld and slurmd, waits until the node is idle
#   tools/slurm/cluster.sh stop    stops the daemons this script started
#   tools/slurm/cluster.sh env     prints `export SLURM_CONF=...` for clients (sbatch, squeue)
#
# Needs root and Debian's slurm-wlm and munge (tools/setup.sh installs them).
# Process tracking is proctrack/linuxproc and tasks are not confined (task/none): no cgroups
# or systemd are needed, so it also runs in containers.
set -euo pipefail

dir=${ENTK_SLURM_DIR:-/tmp/entk-slurm}
conf=$dir/slurm.conf
node=$(hostname -s)

start() {
  mkdir -p "$dir/state" "$dir/spool" "$dir/log" "$dir/munge"
  local cpus memory
  cpus=$(nproc)
  memory=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  cat >"$conf" <<CONF
ClusterName=entk
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MaxArraySize=100001
NodeName=$node CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF

  # munge: a key of our own, its socket and state under $dir.
  if [[ ! -f $dir/munge/munge.key ]]; then
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1 count=1024 status=none
    chmod 400 "$dir/munge/munge.key"
  fi
  if ! pgrep -f "munged.*$dir/munge" >/dev/null; then
    munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
      --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed"
  fi
  # Slurm's clients and daemons find munge's socket through this symlink target.
  mkdir -p /run/munge
  ln -sfn "$dir/munge/munge.socket" /run/munge/munge.socket.2

  export SLURM_CONF=$conf
  pgrep -f "slurmctld -f $conf" >/dev/null || slurmctld -f "$conf"
  pgrep -f "slurmd -f $conf" >/dev/null || slurmd -f "$conf"

  for _ in $(seq 1 60); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE '^idle'; then
      echo "slurm: node $node idle; export SLURM_CONF=$conf" >&2
      return 0
    fi
    sleep 1
  done
  echo "slurm: node did not become idle within 60 s; logs in $dir/log" >&2
  sinfo >&2 || true
  return 1
}

stop() {
  for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
    if [[ -f $pidfile ]]; then
      kill "$(cat "$pidfile")" 2>/dev/null || true
      rm -f "$pidfile"
    fi
  done
  echo "slurm: stopped" >&2
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  env) echo "export SLURM_CONF=$conf" ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
