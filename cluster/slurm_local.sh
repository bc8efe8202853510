#!/usr/bin/env bash
# A throwaway single-node Slurm cluster for tests/cluster: this host is the controller and the only
# compute node, in one partition `debug`.
#
#   eval "$(cluster/slurm_local.sh start [STATE_DIR])"  # prints export SLURM_CONF=.../slurm.conf
#   cluster/slurm_local.sh stop [STATE_DIR]             # default: the folder of $SLURM_CONF
#
# It installs nothing (`make test-cluster` installs slurm-wlm and munge) and never touches
# /etc/slurm or /etc/munge: its munge key and socket, slurm.conf, spool, state, logs and the PIDs it
# started all live in STATE_DIR (a fresh folder under /tmp when none is given), so a real cluster's
# files and daemons on the same host are left alone. Daemons run in the foreground (-F/-D) in the
# background of a new session, so the PIDs recorded are the daemons themselves, and `stop` ends
# exactly those, in reverse order. Environment: SLURM_LOCAL_TIMEOUT (seconds to wait for the node,
# default 60), SLURM_LOCAL_CTLD_PORT and SLURM_LOCAL_SLURMD_PORT (default 6817 and 6818).
set -euo pipefail

die() {
    echo "slurm_local.sh: $*" >&2
    exit 1
}

state_dir_for_stop() {
    if [[ -n "${1:-}" ]]; then
        echo "$1"
    elif [[ -n "${SLURM_CONF:-}" ]]; then
        dirname "$SLURM_CONF"
    else
        die "stop needs the state folder that start printed (or SLURM_CONF set to its slurm.conf)"
    fi
}

port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

write_conf() {
    local state=$1 host=$2 ctld_port=$3 slurmd_port=$4
    # 90% of the memory, so slurmd never finds less than configured and drains the node
    local memory_mb=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) * 9 / 10 / 1024))
    cat >"$state/slurm.conf" <<EOF
# written by cluster/slurm_local.sh: a single-node test cluster, state in $state
ClusterName=aecli-local
# every daemon and client talks over loopback; No*InAddrAny bind to that address, not 0.0.0.0
SlurmctldHost=$host(127.0.0.1)
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
# our own munged, not a system one at /run/munge
AuthInfo=socket=$state/munge/munge.socket
# no cgroups in containers: plain process tracking, no task binding
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SlurmUser=root
SlurmdUser=root
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmdSpoolDir=$state/spool
StateSaveLocation=$state/state
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
# no slurmdbd: sacct has nothing to read (submitit then learns a job's end from its result file)
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
# scancel sends SIGTERM, then SIGKILL after KillWait: aecli saves a checkpoint in between
KillWait=30
NodeName=$host NodeAddr=127.0.0.1 NodeHostname=$host CPUs=$(nproc) RealMemory=$memory_mb \
    State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

launch() {  # launch NAME ARGS...: run a daemon in the foreground of its own session, record its PID
    local state=$1 name=$2
    shift 2
    setsid "$@" </dev/null >"$state/log/$name.out" 2>&1 &
    echo "$name $!" >>"$state/pids"
}

node_state() {
    sinfo --noheader --Node --format=%T --nodes="$1" 2>/dev/null | head -n1 || true
}

start() {
    [[ $(id -u) == 0 ]] || die "start must run as root: slurmd switches to each job's user."
    local missing=()
    for binary in munged slurmctld slurmd sinfo sbatch; do
        command -v "$binary" >/dev/null || missing+=("$binary")
    done
    ((${#missing[@]} == 0)) || die "not installed: ${missing[*]}. Install slurm-wlm and munge \
(\`apt-get install -y slurm-wlm munge\`, or \`make test-cluster\`)."
    local state=${1:-$(mktemp -d /tmp/aecli-slurm.XXXXXX)}
    mkdir -p "$state"
    state=$(cd "$state" && pwd)
    [[ ! -s "$state/pids" ]] || die "$state/pids exists: a cluster may still run there; \
\`$0 stop $state\` first."
    local host ctld_port=${SLURM_LOCAL_CTLD_PORT:-6817} slurmd_port=${SLURM_LOCAL_SLURMD_PORT:-6818}
    host=$(hostname -s)
    for port in "$ctld_port" "$slurmd_port"; do
        port_free "$port" || die "port $port on 127.0.0.1 is taken (another Slurm?); choose others \
with SLURM_LOCAL_CTLD_PORT and SLURM_LOCAL_SLURMD_PORT."
    done
    # munged refuses a key, socket or log folder others can write to or read
    mkdir -p "$state/munge" "$state/log" "$state/spool" "$state/state"
    chmod 0700 "$state" "$state/munge"
    if [[ ! -s "$state/munge/munge.key" ]]; then
        (umask 077 && head -c 1024 /dev/urandom >"$state/munge/munge.key")
    fi
    write_conf "$state" "$host" "$ctld_port" "$slurmd_port"
    export SLURM_CONF=$state/slurm.conf

    # --force: munged refuses to run as root without it
    launch "$state" munged munged --foreground --force --key-file="$state/munge/munge.key" \
        --socket="$state/munge/munge.socket" --pid-file="$state/munge/munged.pid" \
        --log-file="$state/log/munged.log" --seed-file="$state/munge/munged.seed"
    local deadline=$((SECONDS + ${SLURM_LOCAL_TIMEOUT:-60}))
    until [[ -S "$state/munge/munge.socket" ]]; do
        ((SECONDS < deadline)) || fail "$state" "munged did not open its socket"
        sleep 0.2
    done
    # -c: a fresh cluster, no jobs recovered from an earlier start in the same folder
    launch "$state" slurmctld slurmctld -D -c -f "$SLURM_CONF"
    launch "$state" slurmd slurmd -D -f "$SLURM_CONF"
    local node=""
    while [[ $node != idle ]]; do
        while read -r name pid; do
            kill -0 "$pid" 2>/dev/null || fail "$state" "$name exited"
        done <"$state/pids"
        ((SECONDS < deadline)) || fail "$state" "node $host is not idle after \
${SLURM_LOCAL_TIMEOUT:-60} s (sinfo says '${node:-nothing}')"
        sleep 0.5
        node=$(node_state "$host")
    done
    echo "export SLURM_CONF=$SLURM_CONF"
}

fail() {  # fail STATE WHY: show the daemons' last words, stop what started, exit non-zero
    local state=$1
    {
        echo "slurm_local.sh: the test cluster did not start: $2. Logs in $state/log:"
        tail -n 5 "$state"/log/*.log "$state"/log/*.out 2>/dev/null || true
    } >&2
    stop "$state" >&2
    exit 1
}

stop() {
    local state
    state=$(state_dir_for_stop "${1:-}")
    [[ -f "$state/pids" ]] || { echo "nothing started in $state"; return 0; }
    # reverse order: slurmd, slurmctld, then munged, which the other two need until they exit
    tac "$state/pids" | while read -r name pid; do
        # only our daemon: the PID may have been reused by an unrelated process since
        [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$name" ]] || continue
        kill -TERM "$pid"
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "$name ($pid) ignored SIGTERM for 10 s; killing it" >&2
            kill -KILL "$pid"
        fi
        echo "stopped $name ($pid)"
    done
    rm -f "$state/pids"
}

case "${1:-}" in
    start) start "${2:-}" ;;
    stop) stop "${2:-}" ;;
    *) die "usage: $0 start [STATE_DIR] | stop [STATE_DIR]" ;;
esac
