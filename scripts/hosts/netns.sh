#!/usr/bin/env bash
# A test bed of separate hosts on this machine: one network namespace per host,
# each with its own address on a private bridge, made and removed by this script.
# No route leads out of the bridge; the root namespace has an address on it, so
# clients run here reach every host. Needs root and iproute2 (ip netns, veth,
# bridge). `tc netem` is not used: faults are a link taken down (cut) and up (heal).
#
#   scripts/hosts/netns.sh up NAME N        # hosts NAME-1..NAME-N at 10.213.X.1..N, the root at 10.213.X.254
#   scripts/hosts/netns.sh addr NAME I      # the address of host I
#   scripts/hosts/netns.sh exec NAME I CMD...   # run CMD inside host I
#   scripts/hosts/netns.sh cut NAME I       # host I's link down: it hears nothing and nobody hears it
#   scripts/hosts/netns.sh heal NAME I      # and up again
#   scripts/hosts/netns.sh down NAME        # kill every process in the hosts, remove them and the bridge
#
# NAME is at most 8 characters ([a-z0-9]); the subnet 10.213.X.0/24 is derived from it,
# so two beds with different names can run at once.
set -euo pipefail

die() { echo "netns.sh: $*" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || die "needs root (ip netns add); run it as root"
command -v ip >/dev/null || die "needs iproute2's ip"

name=${2:-}
[[ $name =~ ^[a-z0-9]{1,8}$ ]] || die "NAME must be 1-8 characters of [a-z0-9], got '${name}'"
# The third octet from the name, so parallel beds do not share a subnet.
octet=$(( $(printf '%s' "$name" | cksum | cut -d' ' -f1) % 250 + 1 ))
subnet="10.213.${octet}"
bridge="pxb${name}"

host_addr() { echo "${subnet}.$1"; }
ns() { echo "px-${name}-$1"; }

case "${1:-}" in
  up)
    count=${3:-}
    [[ $count =~ ^[0-9]+$ && $count -ge 1 && $count -le 200 ]] || die "up NAME N: N must be 1..200"
    ip link show "$bridge" >/dev/null 2>&1 && die "a bed named ${name} exists already (netns.sh down ${name} removes it)"
    ip link add "$bridge" type bridge
    ip addr add "${subnet}.254/24" dev "$bridge"
    ip link set "$bridge" up
    for i in $(seq 1 "$count"); do
      ip netns add "$(ns "$i")"
      # The host end is named inside the namespace; the bridge end stays here.
      ip link add "pv${name}${i}" type veth peer name eth0 netns "$(ns "$i")"
      ip link set "pv${name}${i}" master "$bridge" up
      ip -n "$(ns "$i")" addr add "$(host_addr "$i")/24" dev eth0
      ip -n "$(ns "$i")" link set eth0 up
      ip -n "$(ns "$i")" link set lo up
    done
    echo "up: ${count} hosts $(host_addr 1)..$(host_addr "$count") on bridge ${bridge}; this namespace is ${subnet}.254"
    ;;
  addr)
    [[ ${3:-} =~ ^[0-9]+$ ]] || die "addr NAME I"
    host_addr "$3"
    ;;
  exec)
    [[ ${3:-} =~ ^[0-9]+$ ]] || die "exec NAME I CMD..."
    i=$3; shift 3
    exec ip netns exec "$(ns "$i")" "$@"
    ;;
  cut | heal)
    [[ ${3:-} =~ ^[0-9]+$ ]] || die "$1 NAME I"
    ip link set "pv${name}${3}" "$([[ $1 == cut ]] && echo down || echo up)"
    ;;
  down)
    for namespace in $(ip netns list | awk '{print $1}' | grep "^px-${name}-" || true); do
      for pid in $(ip netns pids "$namespace" 2>/dev/null || true); do kill -9 "$pid" 2>/dev/null || true; done
      ip netns del "$namespace" 2>/dev/null || true
    done
    ip link del "$bridge" 2>/dev/null || true
    ;;
  *)
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
