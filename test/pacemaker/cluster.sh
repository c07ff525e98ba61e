#!/bin/bash
# A one-node corosync + pacemaker cluster in private namespaces, for testing fence_fencegate
# against the real pacemaker-fenced. Run as root under `unshare -n -u -m` (private network,
# host name and mounts); ../shared/reference/node-stack-notes.md has the recipe.
#
#   cluster.sh WORKDIR
#
# WORKDIR holds corosync.conf and cib.xml (written by the test). The script:
#   1. takes /tmp/fencegate-corosync.lock: only one corosync may run on the machine at a time;
#   2. makes every state directory private (tmpfs), so nothing leaks into the host;
#   3. writes WORKDIR/ns-ready and waits for WORKDIR/go (the test wires the network meanwhile);
#   4. runs corosync -f and pacemakerd -f until SIGTERM, then stops them in order. Logs go to
#      WORKDIR. (corosync and pacemakerd inherit the lock's descriptor: the lock is held until
#      the last of them is gone, even if this script is killed.)
set -eu
W=$1

exec 9>/tmp/fencegate-corosync.lock
flock -w 240 9 || { echo "cluster.sh: another corosync test holds the lock" >&2; exit 75; }

mount --make-rprivate /
hostname fgag-node
ip link set lo up
# state and IPC of corosync/pacemaker: libqb's shared-memory rings live in /dev/shm, pid files
# in /run; a private tmpfs on each keeps the host's untouched and vanishes with the namespace
for d in /var/lib/pacemaker /var/log/pacemaker /var/lib/corosync /var/log/cluster /dev/shm /run; do
  mkdir -p "$d"
  mount -t tmpfs -o mode=0755 tmpfs "$d"
done
chmod 1777 /dev/shm
mkdir -p /var/lib/pacemaker/cib /var/lib/pacemaker/pengine /var/lib/pacemaker/blackbox /var/lib/pacemaker/cores
chown -R hacluster:haclient /var/lib/pacemaker /var/log/pacemaker
chmod 0750 /var/lib/pacemaker/cib

echo $$ >"$W/ns-ready"
for _ in $(seq 1 600); do
  [ -e "$W/go" ] && break
  sleep 0.1
done
[ -e "$W/go" ] || { echo "cluster.sh: no go from the test" >&2; exit 1; }
# written by the test once the network is wired (the CIB names the gateway's URL)
install -o hacluster -g haclient -m 0600 "$W/cib.xml" /var/lib/pacemaker/cib/cib.xml
mount --bind "$W/corosync.conf" /etc/corosync/corosync.conf

# SIGTERM (from the test): pacemakerd first (it stops its daemons and reaps them), then corosync
stop() {
  trap - TERM INT
  set +e
  if [ -n "${PCMK_PID:-}" ]; then kill -TERM "$PCMK_PID"; wait "$PCMK_PID"; fi
  if [ -n "${CS_PID:-}" ]; then kill -TERM "$CS_PID"; wait "$CS_PID"; fi
  exit 0
}
trap stop TERM INT

corosync -f >"$W/corosync.log" 2>&1 &
CS_PID=$!
for _ in $(seq 1 100); do
  corosync-cfgtool -s >/dev/null 2>&1 && break
  sleep 0.1
done
PCMK_logfile="$W/pacemaker.log" PCMK_debug=no pacemakerd -f >"$W/pacemakerd.log" 2>&1 &
PCMK_PID=$!
echo started >"$W/started"
wait
