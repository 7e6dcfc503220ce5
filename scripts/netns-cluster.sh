#!/bin/sh
# A real network between worker processes on one Linux machine (root): each worker gets its own network
# namespace, joined to a bridge where the coordinator sits, and both directions of every link are shaped by the
# kernel (docs/runtime.md, "A real network instead").
#
#   scripts/netns-cluster.sh up [N] [MBIT] [DELAY_MS]   start N workers (default 4) behind MBIT Mbit/s links
#                                                       (default 100), DELAY_MS one way per packet (default 10;
#                                                       needs the netem qdisc, else 0 and rate shaping only)
#   scripts/netns-cluster.sh workers [N]                print the --workers list for `memorianova run`
#   scripts/netns-cluster.sh down [N]                   stop the workers and remove the namespaces and bridge
# The workers share a fresh secret in $TMPDIR/memorianova-netns/token (mode 600): pass it to `run --token-file`.
set -eu
cmd=${1:-}
n=${2:-4}
mbit=${3:-100}
delay=${4:-10}
here=$(cd "$(dirname "$0")/.." && pwd)
logs=${TMPDIR:-/tmp}/memorianova-netns

shape() { # shape <ip netns exec prefix...> <dev>: rate, plus delay where netem exists
  dev=$1
  shift
  if [ "$delay" != 0 ] && "$@" tc qdisc add dev "$dev" root netem delay "${delay}ms" rate "${mbit}mbit" 2>/dev/null; then return; fi
  "$@" tc qdisc add dev "$dev" root tbf rate "${mbit}mbit" burst 32kbit latency 400ms
}

case "$cmd" in
up)
  mkdir -p "$logs"
  (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$logs/token")
  ip link add mnbr0 type bridge
  ip addr add 10.77.0.1/24 dev mnbr0
  ip link set mnbr0 up
  i=1
  while [ "$i" -le "$n" ]; do
    ip netns add mndev$i
    ip link add mnveth$i type veth peer name eth0 netns mndev$i
    ip link set mnveth$i master mnbr0
    ip link set mnveth$i up
    ip -n mndev$i addr add 10.77.0.$((10 + i))/24 dev eth0
    ip -n mndev$i link set eth0 up
    ip -n mndev$i link set lo up
    shape mnveth$i                                   # router → device
    shape eth0 ip netns exec mndev$i                 # device → router
    ip netns exec mndev$i node "$here/bin/memorianova.js" worker --listen 10.77.0.$((10 + i)):7000 --token-file "$logs/token" >"$logs/worker$i.log" 2>&1 &
    echo $! >"$logs/worker$i.pid"
    i=$((i + 1))
  done
  sleep 2
  if [ "$delay" != 0 ] && ! tc qdisc show dev mnveth1 | grep -q netem; then echo "netem is not available in this kernel: links are rate-shaped (tbf) without added delay" >&2; fi
  "$0" workers "$n"
  ;;
workers)
  list=""
  i=1
  while [ "$i" -le "$n" ]; do
    list="$list${list:+,}10.77.0.$((10 + i)):7000"
    i=$((i + 1))
  done
  echo "$list"
  ;;
down)
  i=1
  while [ "$i" -le "$n" ]; do
    [ -f "$logs/worker$i.pid" ] && kill "$(cat "$logs/worker$i.pid")" 2>/dev/null || true
    rm -f "$logs/worker$i.pid"
    ip netns del mndev$i 2>/dev/null || true
    i=$((i + 1))
  done
  ip link del mnbr0 2>/dev/null || true
  rm -f "$logs/token"
  ;;
*)
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  exit 1
  ;;
esac
