#!/usr/bin/env bash
# A single-node Slurm cluster on localhost, for tests and for trying entk's job arrays.
#
#   tools/slurm/cluster.sh start   writes a config under $ENTK_SLURM_DIR (default /tmp/entk-slurm),
#                                  starts munged, slurmctld and slurmd, waits until the node is idle
#   tools/slurm/cluster.sh stop    stops the daemons this script started there and waits for them
#   tools/slurm/cluster.sh env     prints `export SLURM_CONF=...` for clients (sbatch, squeue)
#
# Needs root and Debian's slurm-wlm and munge (tools/setup.sh installs them); says so and fails
# otherwise. Process tracking is proctrack/linuxproc and tasks are not confined (task/none): no
# cgroups or systemd are needed, so it also runs in containers.
#
# Everything lives under $ENTK_SLURM_DIR, nothing in /etc or /run: Slurm reaches munged through
# AuthInfo=socket=..., and the two ports are free ones chosen at start. So a second cluster (another
# checkout's tests) or daemons left behind by a killed run cannot collide with this one. Re-running
# start or stop is safe: a pid file counts only while its process is alive (not a zombie) and is the
# daemon of this folder's config; stale pid files are removed.
set -euo pipefail

dir=${ENTK_SLURM_DIR:-/tmp/entk-slurm}
conf=$dir/slurm.conf
node=$(hostname -s)

fail() {
  echo "slurm: $*" >&2
  exit 1
}

require() {
  [[ $(id -u) -eq 0 ]] || fail "the single-node cluster needs root (slurmd runs jobs as their user); run as root"
  local tool
  for tool in munged slurmctld slurmd sbatch squeue sinfo; do
    command -v "$tool" >/dev/null || fail "$tool not found; install Debian's slurm-wlm and munge (tools/setup.sh)"
  done
}

# The pid in $1 if that process is alive, not a zombie, and its command line contains $2.
running_pid() {
  local pidfile=$1 pattern=$2 pid state
  [[ -f $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $state != Z ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pattern" || return 1
  echo "$pid"
}

# The daemons: name, pid file, and a string only this folder's instance has on its command line.
daemons=(
  "slurmd $dir/slurmd.pid -f $conf"
  "slurmctld $dir/slurmctld.pid -f $conf"
  "munged $dir/munge/munged.pid $dir/munge/munge.socket"
)

# A TCP port nothing listens on, from $1 upwards, other than $2.
free_port() {
  local port=$1
  while ss -Htln "sport = :$port" | grep -q . || [[ $port == "${2:-}" ]]; do port=$((port + 1)); done
  echo "$port"
}

write_config() {
  local cpus memory ctld_port slurmd_port
  cpus=$(nproc)
  memory=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  # Searching from a port derived from the folder, not from Slurm's 6817 for every cluster: two
  # clusters starting at the same moment would both find 6817 free before either daemon binds it.
  ctld_port=$(free_port $((6817 + $(cksum <<<"$dir" | cut -d' ' -f1) % 500 * 2)))
  slurmd_port=$(free_port $((ctld_port + 1)) "$ctld_port")
  # batch_sched_delay=0: start array tasks as soon as a CPU frees instead of in the default 3 s
  # rounds (the 15 short tasks of tools/slurm/test_plan.sh: 25 s -> 8 s).
  cat >"$conf" <<CONF
ClusterName=entk
SlurmctldHost=$node
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CryptoType=crypto/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
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
}

start() {
  require
  mkdir -p "$dir/state" "$dir/spool" "$dir/log" "$dir/munge"
  local entry name pidfile pattern
  local -a alive=()
  for entry in "${daemons[@]}"; do
    read -r name pidfile pattern <<<"$entry"
    if running_pid "$pidfile" "$pattern" >/dev/null; then alive+=("$name"); else rm -f "$pidfile"; fi
  done
  # A half-running cluster (some daemons died) is restarted whole: the config's ports and the
  # running daemons' ports must agree.
  if ((${#alive[@]} > 0 && ${#alive[@]} < ${#daemons[@]})); then
    echo "slurm: only ${alive[*]} running in $dir; restarting the cluster" >&2
    stop
    alive=()
  fi
  if ((${#alive[@]} == 0)); then
    write_config
    # munge: a key of our own; --force replaces a socket file left by a killed munged.
    if [[ ! -f $dir/munge/munge.key ]]; then
      dd if=/dev/urandom of="$dir/munge/munge.key" bs=1 count=1024 status=none
      chmod 400 "$dir/munge/munge.key"
    fi
    munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
      --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed" ||
      fail "munged did not start; see $dir/log/munged.log"
    slurmctld -f "$conf" || fail "slurmctld did not start; see $dir/log/slurmctld.log"
    slurmd -f "$conf" || fail "slurmd did not start; see $dir/log/slurmd.log"
  fi

  export SLURM_CONF=$conf
  for _ in $(seq 1 60); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE '^idle'; then
      echo "slurm: node $node idle; export SLURM_CONF=$conf" >&2
      return 0
    fi
    sleep 0.5
  done
  echo "slurm: node did not become idle within 30 s; logs in $dir/log" >&2
  sinfo >&2 || true
  tail -n 5 "$dir"/log/*.log >&2 || true
  return 1
}

stop() {
  local entry name pidfile pattern pid
  for entry in "${daemons[@]}"; do
    read -r name pidfile pattern <<<"$entry"
    if pid=$(running_pid "$pidfile" "$pattern"); then
      kill "$pid" 2>/dev/null || true
      # Wait, so the next start finds the ports free and slurmctld has saved its state.
      for _ in $(seq 1 40); do
        running_pid "$pidfile" "$pattern" >/dev/null || break
        sleep 0.25
      done
      if running_pid "$pidfile" "$pattern" >/dev/null; then
        echo "slurm: $name ($pid) ignored SIGTERM for 10 s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
    rm -f "$pidfile"
  done
  echo "slurm: stopped" >&2
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  env) echo "export SLURM_CONF=$conf" ;;
  *)
    echo "usage: $0 start|stop|env" >&2
    exit 2
    ;;
esac
