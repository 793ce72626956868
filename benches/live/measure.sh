#!/usr/bin/env bash
# Live throughput and latency through nftvm run, beside the kernel and a no-op forwarder.
#
#   benches/live/measure.sh [NFTVM_BINARY]      (root; iperf3, ping, nft, python3)
#
# Topology (as tests/live_run.rs): client ─ fw ─ server, the client routing via fw, the server
# only knowing its subnet (masquerade makes replies work). Forwarders compared:
#   kernel   veth pairs, Linux forwarding with the same ruleset loaded by nft
#   noop     nftvm run --forward-only: the same TUN I/O and workers, no pipeline (no NAT:
#            the server gets a route back instead)
#   nftvm    nftvm run: the hook pipeline with conntrack and NAT
# For each: iperf3 TCP (5 s), iperf3 UDP with 64-byte payloads (5 s, unlimited rate, the
# receiver's rate counts), ping round trip (300 echoes, 5 ms apart; median). nftvm and noop
# run with 1 and 2 workers. Prints one line per measurement and the machine's load.
# The runs are repeated REPS times (default 3), the forwarders interleaved, and a summary
# gives each column's median and nftvm over the no-op forwarder from those medians.
# Because the machine is shared, the UDP run also reports the forwarder's CPU time per packet
# it handled (all threads' schedstat run time / nftvm_worker_packets_total): nftvm's cost over
# the no-op forwarder is best read from that column, which does not depend on how much CPU
# the neighbours left us.
set -euo pipefail
NFTVM=${1:-$(dirname "$0")/../../target/release/nftvm}
SECS=${SECS:-5}
REPS=${REPS:-3}
RESULTS=$(mktemp /tmp/nftvm-measure-XXXX.tsv)
P=nvm$$
RULES=$(mktemp /tmp/nftvm-measure-XXXX.nft)
cat >"$RULES" <<'EOR'
table inet fw {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		ct state new tcp dport 5201 counter accept
		ct state new udp dport 5201 counter accept
		ct state new icmp type echo-request accept
	}
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname { "tunb", "vb" } masquerade
	}
}
EOR
cleanup() {
    [[ -n "${FWPID:-}" ]] && kill "$FWPID" 2>/dev/null && wait "$FWPID" 2>/dev/null || true
    [[ -n "${SRVPID:-}" ]] && kill "$SRVPID" 2>/dev/null || true
    for n in fw client server; do ip netns del "$P-$n" 2>/dev/null || true; done
    rm -f "$RULES" "$RESULTS"
}
trap cleanup EXIT

netns() {
    for n in fw client server; do ip netns del "$P-$n" 2>/dev/null || true; ip netns add "$P-$n"; ip -n "$P-$n" link set lo up; done
}

client_side() { # DEV: address, routes in client and server
    local a=$1 b=$2
    ip netns exec "$P-client" sysctl -qw "net.ipv6.conf.$a.accept_dad=0"
    ip -n "$P-client" addr add 10.0.1.2/24 dev "$a"; ip -n "$P-client" link set "$a" up
    ip -n "$P-client" route add default via 10.0.1.1 dev "$a"
    ip -n "$P-server" addr add 10.0.2.2/24 dev "$b"; ip -n "$P-server" link set "$b" up
}

start_kernel() {
    netns
    ip link add va netns "$P-fw" type veth peer name va netns "$P-client"
    ip link add vb netns "$P-fw" type veth peer name vb netns "$P-server"
    ip -n "$P-fw" addr add 10.0.1.1/24 dev va; ip -n "$P-fw" link set va up
    ip -n "$P-fw" addr add 10.0.2.1/24 dev vb; ip -n "$P-fw" link set vb up
    ip netns exec "$P-fw" sysctl -qw net.ipv4.ip_forward=1
    ip netns exec "$P-fw" nft -f "$RULES"
    # veth offloads would let the kernel move 64 KB segments: keep packets MTU-sized as on TUN.
    for ns in fw client server; do for d in va vb; do ip netns exec "$P-$ns" ethtool -K "$d" tso off gso off gro off 2>/dev/null || true; done; done
    client_side va vb
}

start_nftvm() { # WORKERS EXTRA-ARGS...
    local w=$1; shift
    netns
    rm -f /tmp/$P.out
    ip netns exec "$P-fw" "$NFTVM" run "$RULES" --tun tuna=10.0.1.1/24 --tun tunb=10.0.2.1/24 --workers "$w" \
        --metrics 127.0.0.1:9469 "$@" >/tmp/$P.out 2>/tmp/$P.err &
    FWPID=$!
    for _ in $(seq 100); do grep -q ready /tmp/$P.out 2>/dev/null && break; sleep 0.05; done
    grep -q ready /tmp/$P.out || { cat /tmp/$P.err; exit 1; }
    ip -n "$P-fw" link set tuna netns "$P-client"
    ip -n "$P-fw" link set tunb netns "$P-server"
    client_side tuna tunb
    # The no-op forwarder cannot masquerade: give the server its route back.
    [[ " $* " == *" --forward-only "* ]] && ip -n "$P-server" route add 10.0.1.0/24 dev tunb
    return 0
}

stop() {
    [[ -n "${SRVPID:-}" ]] && { kill "$SRVPID" 2>/dev/null || true; wait "$SRVPID" 2>/dev/null || true; SRVPID=; }
    [[ -n "${FWPID:-}" ]] && { kill "$FWPID" 2>/dev/null || true; wait "$FWPID" 2>/dev/null || true; FWPID=; }
    for n in fw client server; do ip netns del "$P-$n" 2>/dev/null || true; done
}

cpu_ns() { # PID: run time of all its threads, ns
    local t=0 n
    for f in /proc/"$1"/task/*/schedstat; do read -r n _ <"$f"; t=$((t + n)); done
    echo "$t"
}

metric() { # NAME: the sum over workers
    ip netns exec "$P-fw" python3 -c "
import urllib.request
t=0
for l in urllib.request.urlopen('http://127.0.0.1:9469/metrics').read().decode().splitlines():
    if l.startswith('$1{'): t+=float(l.split()[-1])
print(int(t))"
}
worker_packets() { metric nftvm_worker_packets_total; }

measure() { # LABEL
    local label=$1
    ip netns exec "$P-server" iperf3 -s -D -I /tmp/$P.iperf.pid >/dev/null; sleep 0.3
    SRVPID=$(cat /tmp/$P.iperf.pid)
    local tcp udp rtt
    tcp=$(ip netns exec "$P-client" iperf3 -c 10.0.2.2 -t "$SECS" -J | python3 -c 'import json,sys; j=json.load(sys.stdin); print("%.0f" % (j["end"]["sum_received"]["bits_per_second"]/1e6))')
    local cpu0 pk0 cost=""
    if [[ -n "${FWPID:-}" ]]; then cpu0=$(cpu_ns "$FWPID"); pk0=$(worker_packets); fi
    udp=$(ip netns exec "$P-client" iperf3 -c 10.0.2.2 -u -l 64 -b 0 -t "$SECS" -J | python3 -c '
import json,sys
j=json.load(sys.stdin); s=j["end"]["sum"]
got=s["packets"]-s["lost_packets"]
print("%.1f %.1f" % (got/s["seconds"]/1e3, s["lost_percent"]))')
    if [[ -n "${FWPID:-}" ]]; then
        local cpu1 pk1; cpu1=$(cpu_ns "$FWPID"); pk1=$(worker_packets)
        cost=$(python3 -c "print('%.2f' % (($cpu1-$cpu0)/1e3/max(1,$pk1-$pk0)))")
    fi
    rtt=$(ip netns exec "$P-client" ping -c 300 -i 0.005 -q -n 10.0.2.2 >/dev/null; ip netns exec "$P-client" ping -c 300 -i 0.005 -n 10.0.2.2 | python3 -c '
import re,sys,statistics
r=[float(m.group(1)) for m in re.finditer(r"time=([0-9.]+) ms", sys.stdin.read())]
print("%.0f" % (statistics.median(r)*1000))')
    local handoffs=""
    if [[ -n "${FWPID:-}" ]]; then
        handoffs=$(python3 -c "print('handed off %.1f%%' % (100*$(metric nftvm_worker_handoffs_out_total)/max(1,$(worker_packets))))")
    fi
    local kpps=${udp% *} lost=${udp#* }
    printf '%-14s tcp %6s Mbit/s  udp64 %6s kpps (%4s%% lost)  %-6s us/pkt  ping median %4s us  %s\n' \
        "$label" "$tcp" "$kpps" "$lost" "${cost:--}" "$rtt" "$handoffs"
    printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$tcp" "$kpps" "${cost:-nan}" "$rtt" >>"$RESULTS"
}

summary() {
    python3 - "$RESULTS" <<'EOP'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    label, *vals = line.rstrip("\n").split("\t")
    rows.setdefault(label, []).append([float(v) for v in vals])
med = {k: [statistics.median(c) for c in zip(*v)] for k, v in rows.items()}
print("# medians over %d run(s): tcp Mbit/s, udp64 kpps, CPU us/pkt, ping median us" % max(len(v) for v in rows.values()))
for k, (tcp, kpps, cost, rtt) in med.items():
    print("%-14s %7.0f %8.1f %7.2f %6.0f" % (k, tcp, kpps, cost, rtt))
kernel = med.get("kernel (veth)")
for w in (1, 2):
    n, f = med.get("nftvm w=%d" % w), med.get("noop w=%d" % w)
    if not (n and f):
        continue
    print("# w=%d nftvm vs noop: tcp %+.1f%%, udp64 %+.1f%%, CPU/pkt %+.1f%%, ping %+.0f us (vs kernel %+.0f us)" % (
        w, 100 * (n[0] / f[0] - 1), 100 * (n[1] / f[1] - 1), 100 * (n[2] / f[2] - 1), n[3] - f[3],
        n[3] - kernel[3] if kernel else float("nan")))
EOP
}

echo "# $(uname -r), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq "$REPS"); do
    start_kernel; measure "kernel (veth)"; stop
    for w in 1 2; do
        start_nftvm "$w" --forward-only; measure "noop w=$w"; stop
        start_nftvm "$w"; measure "nftvm w=$w"; stop
    done
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
summary
