#!/usr/bin/env bash
# Runs a Tessera cluster on this machine as separate processes, the way a multi-host deployment runs:
# one ZooKeeper, two coordinators (a leader and a hot standby) and STAGES x REPLICAS workers, each its own JVM,
# all on 127.0.0.1. Logs go to $LOG_DIR (default: a fresh temp dir). Ctrl-C stops everything.
#
#   deploy/scripts/local-cluster.sh [--model DIR] [--stages N] [--replicas R] [--smoke]
#
# --smoke runs a check instead of waiting: a greedy generation, then kills one worker and the leader coordinator
# and generates again through ZooKeeper (the standby takes over), and exits 0 only if both answers are identical.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tessera="$root/tessera"
model="" stages=2 replicas=2 smoke=0
zk_port=${ZK_PORT:-2281} coord_port=${COORD_PORT:-50151} worker_port=${WORKER_PORT:-50161}
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift 2 ;;
    --stages) stages=$2; shift 2 ;;
    --replicas) replicas=$2; shift 2 ;;
    --smoke) smoke=1; shift ;;
    *) echo "local-cluster: unknown argument $1" >&2; exit 2 ;;
  esac
done
log_dir=${LOG_DIR:-$(mktemp -d -t tessera-cluster.XXXXXX)}
mkdir -p "$log_dir"
"$tessera" build >/dev/null
if [ -z "$model" ]; then
  model="${TESSERA_HOME:-$root}/models/demo"
  [ -f "$model/config.json" ] || "$tessera" checkpoint synth --preset demo --out "$model" >/dev/null
fi
layers=$(sed -n 's/.*"num_hidden_layers" *: *\([0-9]*\).*/\1/p' "$model/config.json")

pids=()
# Stops the newest first (workers, coordinators), ZooKeeper last, so that everyone can deregister on the way out.
stop_all() {
  for ((i = ${#pids[@]} - 1; i >= 1; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
  for ((i = ${#pids[@]} - 1; i >= 1; i--)); do wait "${pids[i]}" 2>/dev/null || true; done
  if [ ${#pids[@]} -gt 0 ]; then kill -TERM "${pids[0]}" 2>/dev/null || true; wait "${pids[0]}" 2>/dev/null || true; fi
}
trap stop_all EXIT

# start NAME READY_PATTERN COMMAND...: starts a process with its log, and waits (60 s at most) for its ready line
start() {
  local name=$1 pattern=$2; shift 2
  "$@" >"$log_dir/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 600); do
    grep -q "$pattern" "$log_dir/$name.log" && { echo "$name: $(grep -m1 "$pattern" "$log_dir/$name.log")"; return; }
    kill -0 "${pids[-1]}" 2>/dev/null || { echo "$name exited; its log:" >&2; tail -20 "$log_dir/$name.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "$name not ready after 60 s; its log is $log_dir/$name.log" >&2; exit 1
}

zk=127.0.0.1:$zk_port
start zookeeper "zookeeper ready" "$tessera" zookeeper --port "$zk_port" --data-dir "$log_dir/zk-data"
start coordinator-a "coordinator ready" "$tessera" coordinator --zookeeper "$zk" --port "$coord_port" --session-timeout 4
start coordinator-b "coordinator ready" "$tessera" coordinator --zookeeper "$zk" --port $((coord_port + 1)) --session-timeout 4
port=$worker_port
for r in $(seq 0 $((replicas - 1))); do
  for s in $(seq 0 $((stages - 1))); do
    first=$(( s * layers / stages )) last=$(( (s + 1) * layers / stages ))
    start "worker-$r-$s" "ready on" "$tessera" worker --zookeeper "$zk" --model "$model" --layers "$first:$last" \
      --id "worker-$r-$s" --port "$port" --threads 1
    port=$((port + 1))
  done
done
"$tessera" cluster status --zookeeper "$zk" 2>/dev/null

if [ "$smoke" = 1 ]; then
  sleep 1
  ask() { "$tessera" generate --zookeeper "$zk" --token-ids 1,2,3,4,5 --temperature 0 --max-tokens 24 --ignore-stop-tokens --json 2>/dev/null \
            | sed 's/.*"token_ids":\(\[[^]]*\]\).*/\1/'; }
  before=$(ask || true)
  echo "before: $before"
  kill -KILL "${pids[3]}"   # the first worker: its replica goes, the other serves
  kill -KILL "${pids[1]}"   # the leader coordinator: the standby takes over once the session times out
  after=$(ask || true)      # the client retries through ZooKeeper until the standby leads
  echo "after:  $after"
  [ -n "$before" ] && [ "$before" = "$after" ] && { echo "local-cluster: smoke PASS (logs in $log_dir)"; exit 0; }
  echo "local-cluster: smoke FAIL (logs in $log_dir)" >&2; exit 1
fi
echo "tessera cluster ready: gRPC on 127.0.0.1:$coord_port (standby on $((coord_port + 1))), ZooKeeper $zk, logs in $log_dir"
echo "try: $tessera generate --zookeeper $zk --token-ids 200006,1428,200008 --temperature 0"
wait
