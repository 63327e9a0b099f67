#!/usr/bin/env bash
# A real-terminal check of `paxos top` (not part of `npm test`: it needs tmux).
#
# Starts a three-node cluster on free loopback ports with a client writing to
# it, runs `paxos top` inside a detached tmux window, and captures the screen
# (tmux capture-pane) at each step:
#   1-healthy          three nodes up, one leader
#   2-follower-down    a follower killed with kill -9: its row is down
#   3-follower-back    the follower restarted: it is back and catches up
#   4-leader-down      the leader killed with kill -9: a new leader, the old one down
#   5-after-quit       `q` pressed: top has exited and restored the terminal
# and checks each capture says what it should. Exits non-zero on the first
# check that fails, printing the screen.
#
#   scripts/top-demo.sh [--out DIR] [--update-docs]
#
# --update-docs copies the leader-down screen to docs/top.txt (shown in the README).
set -euo pipefail
cd "$(dirname "$0")/.."

out=""
update_docs=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --update-docs) update_docs=1; shift ;;
    *) echo "usage: $0 [--out DIR] [--update-docs]" >&2; exit 2 ;;
  esac
done

command -v tmux >/dev/null || { echo "top-demo: needs tmux (apt-get install -y tmux)" >&2; exit 2; }
[ -f dist/commands/top.js ] || npm run build >&2

# Screen size of the captured terminal, in characters.
columns=130
rows=28
# How long top gets to notice a change: two polls at its default 1 s interval, plus an election.
settle_seconds=4

work=$(mktemp -d "${TMPDIR:-/tmp}/paxos-top-demo.XXXXXX")
out=${out:-$work/screens}
mkdir -p "$out"
session="paxos-top-demo-$$"
# Children must run the built CLI (NODE_ENV=test would make oclif use tsx), and
# ink prints only its last frame when CI is set, so unset it for top.
export NODE_ENV=production
paxos=(node bin/run.js)

declare -A node_pid=()
load_pid=""

cleanup() {
  tmux kill-session -t "$session" 2>/dev/null || true
  [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null || true
  for pid in "${node_pid[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work/data"
}
trap cleanup EXIT

read -r -a ports <<<"$(node -e '
  const net = require("node:net");
  const servers = [0, 1, 2].map(() => net.createServer().listen(0, "127.0.0.1"));
  Promise.all(servers.map((s) => new Promise((r) => s.on("listening", r)))).then(() => {
    console.log(servers.map((s) => s.address().port).join(" "));
    servers.forEach((s) => s.close());
  });')"
peers="1=127.0.0.1:${ports[0]},2=127.0.0.1:${ports[1]},3=127.0.0.1:${ports[2]}"
export PAXOS_CLUSTER="127.0.0.1:${ports[0]},127.0.0.1:${ports[1]},127.0.0.1:${ports[2]}"

start_node() {
  local id=$1
  "${paxos[@]}" node start --id "$id" --peers "$peers" --data-dir "$work/data/n$id" --log-format json \
    >>"$work/n$id.log" 2>&1 &
  node_pid[$id]=$!
}

# The id of the node that says it leads, or nothing.
leader_id() {
  "${paxos[@]}" status --json --timeout 500ms 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const l=JSON.parse(s).find(r=>r.reachable&&r.role==="leader");if(l)console.log(l.id)}catch{}})'
}

wait_for_leader() {
  local not=${1:-0} id=""
  for _ in $(seq 1 100); do
    id=$(leader_id)
    if [ -n "$id" ] && [ "$id" != "$not" ]; then echo "$id"; return 0; fi
    sleep 0.2
  done
  echo "top-demo: no leader (other than node $not) within 20s" >&2
  return 1
}

capture() {
  local name=$1
  sleep "$settle_seconds"
  # Trailing blank lines are the empty rest of the pane.
  tmux capture-pane -p -t "$session" | awk 'NF { for (; blank > 0; blank--) print ""; print; next } { blank++ }' >"$out/$name.txt"
  echo "--- $name ($out/$name.txt)"
  cat "$out/$name.txt"
}

# expect SCREEN PATTERN WHAT: fails the run unless the capture matches the extended regex.
expect() {
  if ! grep -Eq -- "$2" "$out/$1.txt"; then
    echo "top-demo: FAILED at $1: expected $3 (/$2/)" >&2
    exit 1
  fi
  echo "ok: $1: $3"
}

for id in 1 2 3; do start_node "$id"; done
leader=$(wait_for_leader)

# A steady trickle of writes, so ops/s and commit latency have something to show.
"${paxos[@]}" submit --stdin --json < <(yes 'incr demo') >/dev/null 2>&1 &
load_pid=$!

tmux new-session -d -s "$session" -x "$columns" -y "$rows" \
  "env -u CI PAXOS_CLUSTER=$PAXOS_CLUSTER NODE_ENV=production node bin/run.js top; echo top-exited-with-\$?; sleep 600"

capture 1-healthy
expect 1-healthy "leader node $leader " "node $leader as leader in the header"
expect 1-healthy "3/3 nodes up" "all three nodes up"
expect 1-healthy "^\\*$leader +127\\.0\\.0\\.1:[0-9]+ +leader" "the leader's row starred"

follower=$(( leader % 3 + 1 ))
kill -9 "${node_pid[$follower]}"
capture 2-follower-down
expect 2-follower-down "2/3 nodes up" "two nodes up"
expect 2-follower-down "^ +$follower +127\\.0\\.0\\.1:[0-9]+ +down" "node $follower's row down"
expect 2-follower-down "node $follower down" "a down event for node $follower"

start_node "$follower"
capture 3-follower-back
expect 3-follower-back "3/3 nodes up" "all three nodes up again"
expect 3-follower-back "node $follower back" "a back event for node $follower"

kill -9 "${node_pid[$leader]}"
new_leader=$(wait_for_leader "$leader")
capture 4-leader-down
expect 4-leader-down "leader node $new_leader " "node $new_leader as the new leader"
expect 4-leader-down "^ +$leader +127\\.0\\.0\\.1:[0-9]+ +down" "the old leader's row down"
expect 4-leader-down "node $new_leader leads at ballot [0-9.]+ \\(was node $leader\\)" "a leader-change event"

tmux send-keys -t "$session" q
capture 5-after-quit
expect 5-after-quit "top-exited-with-0" "top exits 0 on q"
if grep -q "nodes up" "$out/5-after-quit.txt"; then
  echo "top-demo: FAILED: the dashboard is still on the screen after q" >&2
  exit 1
fi
echo "ok: 5-after-quit: the terminal is back as it was"

if [ "$update_docs" = 1 ]; then
  cp "$out/4-leader-down.txt" docs/top.txt
  echo "top-demo: wrote docs/top.txt"
fi
echo "top-demo: all checks passed; screens in $out"
