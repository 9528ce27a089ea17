#!/bin/sh
# Runs a two-rank Open MPI job on two simulated hosts, so that rank-to-rank
# traffic takes the TCP path (btl tcp) over a virtual Ethernet link instead of
# shared memory.
#
# Usage: mpirun-netns.sh PROGRAM [ARGUMENTS...]
#
# Recipe (needs root, iproute2, util-linux's unshare, and permission to
# create network namespaces):
#  1. Two network namespaces, NAME-a and NAME-b, joined by a veth pair with
#     10.77.0.1/24 and 10.77.0.2/24. The addresses exist only inside these
#     namespaces; nothing is routed to or from the machine's own network.
#  2. Each "host" also gets its own UTS namespace (unshare --uts) whose
#     hostname is the namespace name, so Open MPI sees two distinct nodes and
#     their session directories under /tmp do not collide.
#  3. mpirun runs inside NAME-a. The hostfile lists NAME-a and NAME-b with one
#     slot each; NAME-a is local to mpirun, and for NAME-b Open MPI's rsh
#     launcher runs `AGENT NAME-b orted ...`. The agent (written below, set
#     with --mca plm_rsh_agent) enters namespace NAME-b instead of calling ssh
#     and runs the command line through sh -c, as ssh would.
#  4. --mca pml ob1 --mca btl tcp,self: no shared-memory transport at all;
#     btl_tcp_if_include and oob_tcp_if_include restrict both MPI traffic and
#     the runtime's own connections to the veth subnet.
#
# Prints `veth-bytes N` (bytes sent by NAME-a over the veth) to standard
# error at the end. Exit status: the job's, 77 when namespaces cannot be
# created here (a test skips then), 124 when the job exceeded
# NABLA_NETNS_TIMEOUT seconds (default 300).
set -u

name=nabla$$
host_a=${name}a
host_b=${name}b
veth_a=nb$$a
veth_b=nb$$b
work=$(mktemp -d)

cleanup() {
    ip netns del "$host_a" 2>/dev/null
    ip netns del "$host_b" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ $# -lt 1 ]; then
    echo "usage: $0 PROGRAM [ARGUMENTS...]" >&2
    exit 2
fi
for tool in ip unshare hostname mpirun; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "mpirun-netns: $tool not found" >&2
        exit 77
    fi
done
if ! ip netns add "$host_a" 2>"$work/error" || ! ip netns add "$host_b" 2>>"$work/error"; then
    echo "mpirun-netns: cannot create network namespaces: $(cat "$work/error")" >&2
    exit 77
fi
set -e
ip link add "$veth_a" type veth peer name "$veth_b"
ip link set "$veth_a" netns "$host_a"
ip link set "$veth_b" netns "$host_b"
ip -n "$host_a" addr add 10.77.0.1/24 dev "$veth_a"
ip -n "$host_b" addr add 10.77.0.2/24 dev "$veth_b"
for host_veth in "$host_a $veth_a" "$host_b $veth_b"; do
    ns=${host_veth% *}
    dev=${host_veth#* }
    ip -n "$ns" link set lo up
    ip -n "$ns" link set "$dev" up
done
set +e

# The stand-in for ssh. Open MPI calls it as `agent [options] HOST COMMAND...`,
# where COMMAND is meant for a remote shell (it contains quotes and `;`).
cat >"$work/agent" <<'AGENT'
#!/bin/sh
while [ "${1#-}" != "$1" ]; do shift; done
host=$1
shift
exec ip netns exec "$host" unshare --uts /bin/sh -c "hostname $host && $*"
AGENT
chmod +x "$work/agent"
printf '%s slots=1\n%s slots=1\n' "$host_a" "$host_b" >"$work/hostfile"

if [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
timeout --kill-after=5 "${NABLA_NETNS_TIMEOUT:-300}" \
    ip netns exec "$host_a" unshare --uts /bin/sh -c 'hostname "$0" && exec "$@"' "$host_a" \
    mpirun -np 2 --hostfile "$work/hostfile" --bind-to none \
    --mca plm_rsh_agent "$work/agent" \
    --mca pml ob1 --mca btl tcp,self \
    --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24 \
    "$@"
status=$?
echo "veth-bytes $(ip netns exec "$host_a" cat "/sys/class/net/$veth_a/statistics/tx_bytes")" >&2
exit $status
