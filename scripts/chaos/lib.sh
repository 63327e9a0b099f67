# Helpers for scripts/chaos/run.sh: a local cluster of real `paxos node`
# processes, clients that record a history, and the faults a nemesis injects.
# Sourced, not run. Every wait here has a deadline; nothing loops forever.
#
# Expects these variables from run.sh: DIR (the run's temp dir), PAXOS_BIN,
# NODES, PEERS, CLUSTER, ADDRESSES (array), NODE_FLAGS (array), SEED, KEYS, OP_TIMEOUT,
# SESSION_OPS (MIN-MAX commands per submit process).

# ---- small things ------------------------------------------------------------

log() {
  local line
  printf -v line '%(%H:%M:%S)T chaos: %s' -1 "$*"
  printf '%s\n' "$line" >&2
  [[ -n ${DIR:-} && -d $DIR ]] && printf '%s\n' "$line" >>"$DIR/chaos.log"
  return 0
}

die() {
  log "error: $*"
  exit 2
}

# Sets NOW_MS to wall-clock milliseconds (no fork: EPOCHREALTIME is bash 5).
now_ms() {
  local t=${EPOCHREALTIME/[.,]/}
  NOW_MS=$((10#$t / 1000))
}

# Sets REPLY to a seeded random integer in [min, max].
rand_between() {
  REPLY=$(($1 + RANDOM % ($2 - $1 + 1)))
}

# Sleeps for a number of milliseconds.
sleep_ms() {
  sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"
}

# Prints a duration (500ms, 45s, 2m) in milliseconds; fails on anything else.
duration_ms() {
  local text=$1
  case $text in
    *ms) [[ ${text%ms} =~ ^[0-9]+$ ]] && echo "${text%ms}" && return 0 ;;
    *s) [[ ${text%s} =~ ^[0-9]+$ ]] && echo $((${text%s} * 1000)) && return 0 ;;
    *m) [[ ${text%m} =~ ^[0-9]+$ ]] && echo $((${text%m} * 60000)) && return 0 ;;
  esac
  return 1
}

# The paxos CLI, built (bin/run.js reads dist/). NODE_ENV=production keeps oclif off tsx.
paxos() {
  NODE_ENV=production node "$PAXOS_BIN" "$@"
}

# Prints N free TCP ports on 127.0.0.1, space-separated.
free_ports() {
  node -e '
    const net = require("node:net");
    const count = Number(process.argv[1]);
    const servers = Array.from({ length: count }, () => net.createServer());
    Promise.all(servers.map((s) => new Promise((done) => s.listen(0, "127.0.0.1", done)))).then(() => {
      const ports = servers.map((s) => s.address().port);
      servers.forEach((s) => s.close());
      console.log(ports.join(" "));
    });' "$1"
}

# Evaluates a JavaScript expression over the JSON in a file (bound to `j`) and prints the result.
json_eval() {
  node -e '
    const j = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
    const out = eval(process.argv[2]);
    console.log(typeof out === "string" ? out : JSON.stringify(out));' "$1" "$2"
}

# ---- nodes -------------------------------------------------------------------
# Each node i has its pid in $DIR/pid/node.i, its state in NODE_STATE[i]
# (up, stopped, down), its data in $DIR/n<i> and its log in $DIR/n<i>.log.

declare -a NODE_STATE=()

node_pid() {
  cat "$DIR/pid/node.$1" 2>/dev/null
}

node_alive() {
  local pid
  pid=$(node_pid "$1") && [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

# Starts node i in the background and waits (up to 30 s: a restart after
# kill -9 first waits about 4 s for the dead process's data-dir lock to go stale).
# Becomes (exec) a command where node $1 lives: here, or inside its host with --hosts netns.
# Only ever run in the background (`node_runner ... &`): $! is then the node's own pid.
node_runner() {
  local id=$1
  shift
  if [[ ${HOSTS:-local} == netns ]]; then exec "$NETNS" exec "$BED" "$id" "$@"; else exec "$@"; fi
}

node_start() {
  local id=$1 before
  before=$(grep -c '"node started"' "$DIR/n$id.log" 2>/dev/null)
  NODE_ENV=production node_runner "$id" node "$PAXOS_BIN" node start --id "$id" --peers "$PEERS" --data-dir "$DIR/n$id" \
    --enable-faults --log-format json "${NODE_FLAGS[@]}" >>"$DIR/n$id.log" 2>&1 &
  echo $! >"$DIR/pid/node.$id"
  NODE_STATE[id]=up
  node_wait_started "$id" "${before:-0}" 30000
}

node_wait_started() {
  local id=$1 before=$2 limit=$3 count
  now_ms
  local deadline=$((NOW_MS + limit))
  while :; do
    count=$(grep -c '"node started"' "$DIR/n$id.log" 2>/dev/null)
    ((${count:-0} > before)) && return 0
    node_alive "$id" || { log "node $id exited while starting; see $DIR/n$id.log"; return 1; }
    now_ms
    ((NOW_MS > deadline)) && { log "node $id did not start within ${limit}ms"; return 1; }
    sleep 0.1
  done
}

# kill -9, then reap it so its pid is gone before anything restarts it.
node_kill() {
  local pid
  pid=$(node_pid "$1")
  [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null
  [[ -n $pid ]] && wait "$pid" 2>/dev/null
  NODE_STATE[$1]=down
}

node_stop() {
  kill -STOP "$(node_pid "$1")" 2>/dev/null
  NODE_STATE[$1]=stopped
}

node_cont() {
  kill -CONT "$(node_pid "$1")" 2>/dev/null
  NODE_STATE[$1]=up
}

# Prints the id of the leader a majority of the nodes follows, or nothing. (A
# leader cut off by a partition still calls itself leader; the majority knows better.)
leader_id() {
  paxos status --cluster "$CLUSTER" --timeout 1s --json >"$DIR/status.json" 2>/dev/null
  json_eval "$DIR/status.json" '(() => {
    const votes = new Map();
    for (const r of j.filter((r) => r.reachable && r.leader !== null)) votes.set(r.leader, (votes.get(r.leader) ?? 0) + 1);
    const [leader] = [...votes].find(([, count]) => count > j.length / 2) ?? [""];
    return String(leader);
  })()' 2>/dev/null
}

# Waits until some node leads and answers (up to $1 ms). Returns 1 on timeout.
wait_for_leader() {
  now_ms
  local deadline=$((NOW_MS + $1))
  while :; do
    [[ -n $(leader_id) ]] && return 0
    now_ms
    ((NOW_MS > deadline)) && return 1
    sleep 0.3
  done
}

# ---- clients -----------------------------------------------------------------
# Client n runs `paxos submit --stdin` as a coprocess, closed loop: it writes
# one command, reads its one result line, then picks the next. Reads, writes
# and compare-and-sets on a few keys; every written value is unique
# ("<client>.<op>"), which is what lets `paxos check` tie a read to its write.
# A cas expects the value this client last saw for the key, so some succeed.
# Every SESSION_OPS commands (100-600) the client starts a new submit process that asks
# a random node first, as fresh clients do: a node that wrongly believes it
# still leads then gets asked too, not only the leader everyone found.

client_run() {
  local n=$1 i=0 key roll line value reply reply_wait session_end
  local -A seen=()
  RANDOM=$(((SEED * 131 + n) % 32768))
  reply_wait=$(($(duration_ms "$OP_TIMEOUT") / 1000 + 15))
  while [[ ! -e $DIR/stop ]]; do
    rand_between "${SESSION_OPS%-*}" "${SESSION_OPS#*-}"
    session_end=$((i + REPLY))
    client_session || break
  done
  return 0
}

# One submit process, until session_end commands or the stop file.
client_session() {
  local first cluster pid in out waited=0
  first=$((RANDOM % NODES))
  local rotated=("${ADDRESSES[@]:first}" "${ADDRESSES[@]:0:first}")
  cluster=$(IFS=,; echo "${rotated[*]}")
  coproc SUBMIT { exec env NODE_ENV=production node "$PAXOS_BIN" submit --stdin --json --cluster "$cluster" \
    --consistency "$READS" --timeout "$OP_TIMEOUT" --history "$DIR/history.$n" --history-process "$n" 2>>"$DIR/client.$n.log"; }
  pid=$SUBMIT_PID in=${SUBMIT[1]} out=${SUBMIT[0]}
  echo "$pid" >"$DIR/pid/client.$n"
  local status=0
  while [[ ! -e $DIR/stop ]] && ((i < session_end)); do
    i=$((i + 1))
    key="k$((RANDOM % KEYS))"
    roll=$((RANDOM % 100))
    value="$n.$i"
    if ((roll < 45)); then
      line="get $key"
    elif ((roll < 80)) || [[ -z ${seen[$key]:-} ]]; then
      line="set $key $value"
    else
      line="cas $key ${seen[$key]} $value"
    fi
    printf '%s\n' "$line" >&"$in" || { status=1; break; }
    read -r -t "$reply_wait" reply <&"$out" || { log "client $n: no answer within ${reply_wait}s; stopping"; status=1; break; }
    client_learn
  done
  exec {in}>&-
  # submit finishes the command in flight (bounded by --timeout) and exits at end of input.
  while kill -0 "$pid" 2>/dev/null && ((waited < reply_wait * 10)); do sleep 0.1; waited=$((waited + 1)); done
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return "$status"
}

# Remembers what a successful command says about its key's value (for cas).
client_learn() {
  [[ $reply == '{"ok":true'* ]] || return 0
  case $line in
    get*) [[ $reply =~ \"result\":\"([^\"]*)\" ]] && seen[$key]=${BASH_REMATCH[1]} ;;
    set* | cas*) seen[$key]=$value ;;
  esac
}

# ---- results -----------------------------------------------------------------

# Prints "ok fail info" counts of the completions in the given history files.
count_outcomes() {
  cat "$@" 2>/dev/null | awk '
    /"type":"ok"/ { ok++ } /"type":"fail"/ { fail++ } /"type":"info"/ { info++ }
    END { printf "%d %d %d\n", ok, fail, info }'
}

# Prints the longest time in seconds (one decimal) between two successful
# operations, from the first to the last: how long no client got anything done.
longest_gap_seconds() {
  cat "$@" 2>/dev/null | grep '"type":"ok"' | sed -n 's/.*"time":\([0-9]*\).*/\1/p' | sort -n | awk '
    NR > 1 && $1 - last > gap { gap = $1 - last }
    { last = $1 }
    END { printf "%.1f\n", gap / 1e6 }'
}
