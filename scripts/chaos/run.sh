#!/usr/bin/env bash
# Chaos test for paxos: starts a local cluster of real `paxos node` processes,
# runs concurrent clients that record a history, and lets a nemesis kill -9,
# SIGSTOP and partition nodes (never more than a minority at once, except the
# opt-in whole-cluster crash); then heals everything, waits for the replicas
# to converge, checks the history with `paxos check` and compares the
# replicas' applied state. One summary line at the end.
#
#   scripts/chaos/run.sh [--duration 60s] [--nodes 3|5] [--faults kill,stop,partition]
#                        [--clients 5] [--keys 4] [--seed N] [--keep] [--node-flags "..."]
#                        [--target mixed|leader|random] [--reads linearizable|log]
#                        [--hosts local|netns]
#
# Faults: kill (kill -9 a minority, restart it), stop (SIGSTOP a minority,
# SIGCONT it), partition (cut a minority off from the rest with `paxos fault`),
# delay and drop (slow or lossy links on a minority, with `paxos fault`),
# crash (kill -9 EVERY node at once and restart them: a power cut), member
# (membership changes: either wipe a minority's data dirs and restart them on
# empty ones, so the leader replaces their old incarnations through the log, or
# add a spare node as a learner with `paxos member add`, start it with --join,
# promote it to voter, and remove it again with `paxos member remove`).
# "all" means every one of them. Each comes from the seed, as do the clients' commands.
# --target says whom a fault hits: the leader among the targets half the time
# (mixed, the default), always (leader), or only by chance (random).
# --reads says how the clients' gets are answered: linearizable (the default:
# the leader without the log, after a heartbeat round confirms it still leads)
# or log (ordered through the log, as commands).
# --hosts says where the nodes run: local (the default: every node on 127.0.0.1)
# or netns (each node on a host of its own, a network namespace with its own
# address made by scripts/hosts/netns.sh and removed at exit; needs root). With
# netns a partition takes the host's link down (it hears nobody, clients
# included) instead of asking the node to drop its peers.
#
# Exit status: 0 pass; 1 fail (not linearizable, replicas disagree or never
# converge, a node broke an invariant); 2 the run could not be done or decided.
#
# Every option has an environment override: CHAOS_DURATION, CHAOS_NODES,
# CHAOS_FAULTS, CHAOS_CLIENTS, CHAOS_KEYS, CHAOS_TARGET, CHAOS_READS, CHAOS_SEED, CHAOS_KEEP=1,
# CHAOS_NODE_FLAGS, CHAOS_HOSTS; also CHAOS_OP_TIMEOUT (each client command, default 10s),
# CHAOS_CONVERGE_TIMEOUT (how long replicas may take to agree at the end, 30s),
# CHAOS_SESSION_OPS (commands per client process before it starts afresh, 100-600),
# CHAOS_DIR (where to put the run; default a new temp dir) and PAXOS_BIN (the
# CLI's bin/run.js). Build first: `npm ci` (it builds dist/).
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

DURATION=${CHAOS_DURATION:-60s}
NODES=${CHAOS_NODES:-3}
FAULTS=${CHAOS_FAULTS:-kill,stop,partition}
CLIENTS=${CHAOS_CLIENTS:-5}
KEYS=${CHAOS_KEYS:-4}
TARGET=${CHAOS_TARGET:-mixed}
READS=${CHAOS_READS:-linearizable}
HOSTS=${CHAOS_HOSTS:-local}
SESSION_OPS=${CHAOS_SESSION_OPS:-100-600}
SEED=${CHAOS_SEED:-$((RANDOM * 32768 + RANDOM))}
KEEP=${CHAOS_KEEP:-0}
OP_TIMEOUT=${CHAOS_OP_TIMEOUT:-10s}
CONVERGE_TIMEOUT=${CHAOS_CONVERGE_TIMEOUT:-30s}
PAXOS_BIN=${PAXOS_BIN:-$here/../../bin/run.js}
read -r -a NODE_FLAGS <<<"${CHAOS_NODE_FLAGS:-}"

usage() {
  sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
  exit "${1:-2}"
}

while (($# > 0)); do
  case $1 in
    --duration) DURATION=$2; shift 2 ;;
    --nodes) NODES=$2; shift 2 ;;
    --faults) FAULTS=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --keys) KEYS=$2; shift 2 ;;
    --target) TARGET=$2; shift 2 ;;
    --reads) READS=$2; shift 2 ;;
    --hosts) HOSTS=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --node-flags) read -r -a NODE_FLAGS <<<"$2"; shift 2 ;;
    -h | --help) usage 0 ;;
    *) echo "unknown option $1" >&2; usage 2 ;;
  esac
done

all_faults=(kill stop partition delay drop crash member)
[[ $FAULTS == all ]] && FAULTS=$(IFS=,; echo "${all_faults[*]}")
IFS=, read -r -a FAULT_LIST <<<"$FAULTS"
for fault in "${FAULT_LIST[@]}"; do
  [[ " ${all_faults[*]} " == *" $fault "* ]] || die "unknown fault '$fault' (use ${all_faults[*]} or all)"
done
duration_ms "$DURATION" >/dev/null || die "invalid --duration '$DURATION' (use e.g. 45s, 2m)"
duration_ms "$OP_TIMEOUT" >/dev/null || die "invalid CHAOS_OP_TIMEOUT '$OP_TIMEOUT'"
duration_ms "$CONVERGE_TIMEOUT" >/dev/null || die "invalid CHAOS_CONVERGE_TIMEOUT '$CONVERGE_TIMEOUT'"
[[ $NODES =~ ^[0-9]+$ ]] && ((NODES >= 3 && NODES <= 9)) || die "--nodes must be 3..9"
[[ $CLIENTS =~ ^[0-9]+$ ]] && ((CLIENTS >= 1 && CLIENTS <= 64)) || die "--clients must be 1..64"
[[ $KEYS =~ ^[0-9]+$ ]] && ((KEYS >= 1 && KEYS <= 100)) || die "--keys must be 1..100"
[[ $SEED =~ ^[0-9]+$ ]] || die "--seed must be a non-negative integer"
[[ $TARGET =~ ^(mixed|leader|random)$ ]] || die "--target must be mixed, leader or random"
[[ $HOSTS =~ ^(local|netns)$ ]] || die "--hosts must be local or netns"
[[ $READS =~ ^(linearizable|log)$ ]] || die "--reads must be linearizable or log (local reads may be stale, which the check would rightly refuse)"
[[ $SESSION_OPS =~ ^[0-9]+-[0-9]+$ ]] && ((${SESSION_OPS%-*} >= 1 && ${SESSION_OPS%-*} <= ${SESSION_OPS#*-})) ||
  die "CHAOS_SESSION_OPS must be MIN-MAX, e.g. 100-600"
[[ -f $PAXOS_BIN ]] || die "no CLI at $PAXOS_BIN (set PAXOS_BIN, or run npm ci first)"
MINORITY=$(((NODES - 1) / 2))
RANDOM=$((SEED % 32768))

DIR=${CHAOS_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/paxos-chaos.XXXXXX")}
mkdir -p "$DIR/pid" || die "cannot create $DIR"
result=2

# Every process this run started goes, whatever happened: stopped ones are
# continued first so that nothing is left frozen.
cleanup() {
  local file pid
  touch "$DIR/stop"
  disown -a 2>/dev/null # no "Killed" notice for each process below
  for file in "$DIR"/pid/*; do
    [[ -f $file ]] || continue
    pid=$(cat "$file")
    kill -CONT "$pid" 2>/dev/null
    kill -9 "$pid" 2>/dev/null
  done
  [[ $HOSTS == netns && -n ${BED:-} ]] && "$NETNS" down "$BED" >/dev/null 2>&1
  if ((KEEP == 0 && result == 0)); then rm -rf "$DIR"; else log "kept the run's files in $DIR"; fi
}
trap cleanup EXIT
trap 'exit 2' INT TERM

# ---- the cluster ---------------------------------------------------------------

# One address more than the nodes: the spare that the member fault adds and removes.
HOST_ADDRESSES=()
if [[ $HOSTS == netns ]]; then
  # One host per node (and the spare), each at its own address on a private bridge, all on one port.
  NETNS=$here/../hosts/netns.sh
  BED="cx$((SEED % 100000))"
  "$NETNS" up "$BED" $((NODES + 1)) >>"$DIR/nemesis.log" 2>&1 ||
    die "could not make the hosts ($NETNS up $BED: it needs root and ip netns; see $DIR/nemesis.log)"
  for ((i = 1; i <= NODES + 1; i++)); do HOST_ADDRESSES+=("$("$NETNS" addr "$BED" "$i"):7401"); done
else
  read -r -a PORTS <<<"$(free_ports $((NODES + 1)))"
  ((${#PORTS[@]} == NODES + 1)) || die "could not find $((NODES + 1)) free ports"
  for ((i = 1; i <= NODES + 1; i++)); do HOST_ADDRESSES+=("127.0.0.1:${PORTS[i - 1]}"); done
fi
SPARE_ID=$((NODES + 1))
SPARE_ADDRESS=${HOST_ADDRESSES[NODES]}
SPARE_MEMBER=0
PEERS=""
ADDRESSES=()
for ((i = 1; i <= NODES; i++)); do
  PEERS+="${PEERS:+,}$i=${HOST_ADDRESSES[i - 1]}"
  ADDRESSES+=("${HOST_ADDRESSES[i - 1]}")
done
CLUSTER=$(IFS=,; echo "${ADDRESSES[*]}")

log "seed $SEED; $NODES nodes on $([[ $HOSTS == netns ]] && echo "hosts of their own (${ADDRESSES[*]}; the spare at $SPARE_ADDRESS)" || echo 127.0.0.1); faults ${FAULT_LIST[*]}; $CLIENTS clients on $KEYS keys for $DURATION; files in $DIR"
for ((i = 1; i <= NODES; i++)); do node_start "$i" || die "node $i did not start"; done
wait_for_leader 20000 || die "no leader within 20 s"

# ---- the nemesis ----------------------------------------------------------------

declare -A FAULT_COUNT=()
UNEXPECTED_EXITS=0

# Sets TARGETS to 1..MINORITY distinct node ids, the leader among them as --target says.
pick_targets() {
  local count leader candidate
  rand_between 1 "$MINORITY"
  count=$REPLY
  TARGETS=()
  if [[ $TARGET == leader ]] || [[ $TARGET == mixed && $((RANDOM % 2)) == 0 ]]; then
    leader=$(leader_id)
    [[ -n $leader ]] && TARGETS+=("$leader")
  fi
  while ((${#TARGETS[@]} < count)); do
    candidate=$((RANDOM % NODES + 1))
    [[ " ${TARGETS[*]} " == *" $candidate "* ]] || TARGETS+=("$candidate")
  done
}

# The nodes not in TARGETS, comma-separated.
others_of_targets() {
  local id list=""
  for ((id = 1; id <= NODES; id++)); do
    [[ " ${TARGETS[*]} " == *" $id "* ]] || list+="${list:+,}$id"
  done
  echo "$list"
}

fault_cli() {
  paxos fault "$@" --cluster "$CLUSTER" >>"$DIR/nemesis.log" 2>&1 || log "paxos fault $* failed (see nemesis.log)"
}

# `paxos member ...` against the cluster; its exit status is the command's (0 done, 4 not done, 5 unknown).
member_cli() {
  local status
  paxos member "$@" --cluster "$CLUSTER" --wait 15s >>"$DIR/nemesis.log" 2>&1
  status=$?
  ((status == 0)) || log "paxos member $* exited $status (see nemesis.log)"
  return "$status"
}

# Whether the spare is a member now (voter or learner), by `member list`.
spare_is_member() {
  paxos member list --cluster "$CLUSTER" --json >"$DIR/members.json" 2>/dev/null || return 2
  [[ $(json_eval "$DIR/members.json" "String(j.some((m) => m.id === $SPARE_ID))") == true ]]
}

# Removes the spare from the membership (retrying: another change may be in flight), then stops it.
# A spare that stays a member keeps running: killing a voter would cost the cluster a failure it did not choose.
spare_remove() {
  local attempt
  for attempt in 1 2 3 4 5; do
    member_cli remove "$SPARE_ID" && break
    spare_is_member
    (($? == 1)) && break
    sleep 1
  done
  spare_is_member
  if (($? == 1)); then
    node_kill "$SPARE_ID"
    rm -rf "$DIR/n$SPARE_ID"
    SPARE_MEMBER=0
  else
    log "the spare node $SPARE_ID is still a member; it keeps running"
  fi
}

# Whether some node is not (yet) a voter under the data dir it runs: a wiped disk not replaced yet
# (or a node that does not answer). Wiping another then would leave more than a minority of the
# voters' incarnations dead, beyond what the cluster survives: it would wait for good, by design.
replacement_pending() {
  paxos status --cluster "$CLUSTER" --timeout 2s --json >"$DIR/status.json" 2>/dev/null || return 0
  [[ $(json_eval "$DIR/status.json" "String(j.filter((r) => r.id === undefined || r.id <= $NODES).some((r) => !r.reachable || r.member !== 'voter'))") != false ]]
}

# The member fault: wipe TARGETS' data dirs and restart them empty (auto-replace brings the new
# incarnations in), or grow by the spare (learner, then voter) and shrink back.
run_member_fault() {
  local id attempt
  if ((SPARE_MEMBER == 1)); then spare_remove; return; fi
  if ((RANDOM % 2 == 0)); then
    if replacement_pending; then
      log "nemesis: member: a node is not a voter under its data dir yet (a replacement pending); no wipe this time"
      return
    fi
    log "nemesis: member: wipe the data dirs of ${TARGETS[*]} and restart them empty"
    for id in "${TARGETS[@]}"; do node_kill "$id"; rm -rf "$DIR/n$id"; done
    sleep_ms "$HOLD_MS"
    for id in "${TARGETS[@]}"; do node_start "$id" || log "node $id did not restart"; done
    return
  fi
  log "nemesis: member: add node $SPARE_ID as a learner, promote it, remove it"
  member_cli add --id "$SPARE_ID" --address "$SPARE_ADDRESS" --learner
  spare_is_member || return 0
  SPARE_MEMBER=1
  NODE_ENV=production node_runner "$SPARE_ID" node "$PAXOS_BIN" node start --id "$SPARE_ID" --join "$CLUSTER" --listen "$SPARE_ADDRESS" \
    --data-dir "$DIR/n$SPARE_ID" --enable-faults --log-format json "${NODE_FLAGS[@]}" >>"$DIR/n$SPARE_ID.log" 2>&1 &
  echo $! >"$DIR/pid/node.$SPARE_ID"
  NODE_STATE[SPARE_ID]=up
  node_wait_started "$SPARE_ID" 0 30000 || log "the spare node did not start"
  # Promotion is refused until the learner has caught up: ask again for a while.
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    member_cli promote "$SPARE_ID" && break
    sleep 1
  done
  sleep_ms "$HOLD_MS"
  spare_remove
}

# Applies one fault to TARGETS, holds it for HOLD_MS, and undoes it.
run_fault() {
  local kind=$1 id others
  case $kind in
    kill)
      for id in "${TARGETS[@]}"; do node_kill "$id"; done
      sleep_ms "$HOLD_MS"
      for id in "${TARGETS[@]}"; do node_start "$id" || log "node $id did not restart"; done ;;
    stop)
      for id in "${TARGETS[@]}"; do node_stop "$id"; done
      sleep_ms "$HOLD_MS"
      for id in "${TARGETS[@]}"; do node_cont "$id"; done ;;
    partition)
      if [[ $HOSTS == netns ]]; then
        for id in "${TARGETS[@]}"; do "$NETNS" cut "$BED" "$id"; done
        sleep_ms "$HOLD_MS"
        for id in "${TARGETS[@]}"; do "$NETNS" heal "$BED" "$id"; done
      else
        others=$(others_of_targets)
        for id in "${TARGETS[@]}"; do fault_cli partition --node "$id" --from "$others"; done
        sleep_ms "$HOLD_MS"
        for id in "${TARGETS[@]}"; do fault_cli heal --node "$id"; done
      fi ;;
    delay | drop)
      for id in "${TARGETS[@]}"; do
        case $kind in
          delay) rand_between 20 300; fault_cli delay --node "$id" "${REPLY}ms" ;;
          drop) rand_between 10 60; fault_cli drop --node "$id" "0.$(printf '%02d' "$REPLY")" ;;
        esac
      done
      sleep_ms "$HOLD_MS"
      for id in "${TARGETS[@]}"; do fault_cli heal --node "$id"; done ;;
    crash)
      TARGETS=($(seq 1 "$NODES"))
      for id in "${TARGETS[@]}"; do node_kill "$id"; done
      sleep_ms 500
      for id in "${TARGETS[@]}"; do node_start "$id" || log "node $id did not restart"; done ;;
    member) run_member_fault ;;
  esac
}

# A node that died without the nemesis killing it is restarted and counted.
supervise() {
  local id
  for ((id = 1; id <= NODES; id++)); do
    [[ ${NODE_STATE[id]} == up ]] || continue
    node_alive "$id" && continue
    UNEXPECTED_EXITS=$((UNEXPECTED_EXITS + 1))
    log "node $id exited on its own; restarting it (see $DIR/n$id.log)"
    wait "$(node_pid "$id")" 2>/dev/null
    node_start "$id" || log "node $id did not restart"
  done
}

# Sets REPLY to how long a fault of this kind lasts, in ms. Partitions last
# longest: a client waits 3 s on a silent leader before it tries another
# node, so a short partition ends before the two sides ever serve the same
# clients. A stopped node must be continued within 4 s or it loses its lock.
hold_range() {
  case $1 in
    partition) rand_between 2000 8000 ;;
    stop) rand_between 500 3000 ;;
    *) rand_between 1000 4000 ;;
  esac
}

nemesis() {
  local deadline=$1 kind
  while :; do
    rand_between 1000 3000
    sleep_ms "$REPLY"
    now_ms
    ((NOW_MS >= deadline)) && break
    kind=${FAULT_LIST[RANDOM % ${#FAULT_LIST[@]}]}
    pick_targets
    hold_range "$kind"
    HOLD_MS=$REPLY
    [[ $kind == crash ]] && log "nemesis: crash every node"
    [[ $kind != crash && $kind != member ]] && log "nemesis: $kind ${TARGETS[*]} for ${HOLD_MS}ms"
    run_fault "$kind"
    FAULT_COUNT[$kind]=$((${FAULT_COUNT[$kind]:-0} + 1))
    supervise
  done
}

# ---- the run ----------------------------------------------------------------------

for ((n = 1; n <= CLIENTS; n++)); do
  client_run "$n" &
  echo $! >"$DIR/pid/client-loop.$n"
done

now_ms
started_ms=$NOW_MS
nemesis $((NOW_MS + $(duration_ms "$DURATION")))
now_ms
log "nemesis done after $(((NOW_MS - started_ms) / 1000))s; stopping clients"
touch "$DIR/stop"
for ((n = 1; n <= CLIENTS; n++)); do wait "$(cat "$DIR/pid/client-loop.$n")" 2>/dev/null; done

# ---- heal, converge, check ----------------------------------------------------------

for ((id = 1; id <= NODES; id++)); do
  [[ ${NODE_STATE[id]} == stopped ]] && node_cont "$id"
  [[ ${NODE_STATE[id]} == down ]] && node_start "$id"
done
supervise
fault_cli heal
wait_for_leader 30000 || log "no leader within 30 s after healing"
((SPARE_MEMBER == 1)) && spare_remove

# A last read of every key, after the faults: a lost write shows here.
final_reads=""
for ((k = 0; k < KEYS; k++)); do final_reads+="get k$k"$'\n'; done
printf '%s' "$final_reads" | paxos submit --stdin --json --cluster "$CLUSTER" --timeout 20s \
  --history "$DIR/history.final" --history-process 0 >"$DIR/final-reads.jsonl" 2>>"$DIR/client.final.log"

# Converged: every node answers, with the same last applied slot and digest.
# Two nodes at the same slot with different digests have diverged for good.
agreement="0/$NODES"
now_ms
converge_deadline=$((NOW_MS + $(duration_ms "$CONVERGE_TIMEOUT")))
while :; do
  paxos status --cluster "$CLUSTER" --timeout 2s --json >"$DIR/status.json" 2>/dev/null
  agreement=$(json_eval "$DIR/status.json" '(() => {
    const groups = new Map();
    for (const r of j.filter((r) => r.reachable)) {
      const key = `${r.lastApplied}/${r.appliedDigest}`;
      groups.set(key, (groups.get(key) ?? 0) + 1);
    }
    return `${Math.max(0, ...groups.values())}/${j.length}`;
  })()' 2>/dev/null)
  [[ $agreement == "$NODES/$NODES" ]] && break
  diverged=$(json_eval "$DIR/status.json" '(() => {
    const digests = new Map();
    for (const r of j.filter((r) => r.reachable)) digests.set(r.lastApplied, new Set([...(digests.get(r.lastApplied) ?? []), r.appliedDigest]));
    return [...digests].filter(([, set]) => set.size > 1).map(([slot]) => slot).join(",");
  })()' 2>/dev/null)
  [[ -n $diverged ]] && { log "replicas diverged: different digests at applied slot $diverged"; break; }
  now_ms
  ((NOW_MS > converge_deadline)) && { log "replicas did not converge within $CONVERGE_TIMEOUT: $agreement agree"; break; }
  sleep 0.5
done

cat "$DIR"/history.* >"$DIR/history.jsonl"
paxos check "$DIR/history.jsonl" >"$DIR/check.txt" 2>&1
check_status=$?
log "paxos check: $(tail -n 1 "$DIR/check.txt")"
violations=$(grep -c '^not linearizable' "$DIR/check.txt")
invariant_logs=$(grep -l 'InvariantError' "$DIR"/n*.log 2>/dev/null | tr '\n' ' ')

read -r ok fail info <<<"$(count_outcomes "$DIR"/history.[0-9]*)"
gap=$(longest_gap_seconds "$DIR"/history.[0-9]*)
faults_done=""
for kind in "${FAULT_LIST[@]}"; do faults_done+="${faults_done:+,}$kind:${FAULT_COUNT[$kind]:-0}"; done

verdict=PASS
result=0
reasons=""
if ((check_status == 1)); then reasons+=" not-linearizable"; fi
if ((check_status != 0 && check_status != 1)); then reasons+=" check-undecided($check_status)"; fi
if [[ $agreement != "$NODES/$NODES" ]]; then reasons+=" replicas-disagree"; fi
if [[ -n $invariant_logs ]]; then reasons+=" invariant-broken"; fi
if ((ok == 0)); then reasons+=" no-progress"; fi
if [[ -n $reasons ]]; then
  verdict=FAIL
  result=1
  ((check_status != 0 && check_status != 1)) && [[ $reasons == " check-undecided($check_status)" ]] && result=2
  sed 's/^/  /' "$DIR/check.txt" | head -40 >&2
  [[ -n $invariant_logs ]] && log "InvariantError in: $invariant_logs"
fi

hosts_field=""
[[ $HOSTS == netns ]] && hosts_field=" hosts=netns"
printf 'chaos: %s seed=%s nodes=%s%s reads=%s faults=%s duration=%s ops ok=%s fail=%s info=%s violations=%s longest-unavailability=%ss replicas-agree=%s unexpected-exits=%s%s\n' \
  "$verdict" "$SEED" "$NODES" "$hosts_field" "$READS" "$faults_done" "$DURATION" "$ok" "$fail" "$info" "$violations" "$gap" "$agreement" "$UNEXPECTED_EXITS" \
  "${reasons:+ reasons=${reasons# }}"
exit "$result"
