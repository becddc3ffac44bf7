#!/bin/sh
# free_ports.sh: prints a base port B such that no socket uses B .. B+99, below the kernel's
# ephemeral range (so that no outgoing connection takes one meanwhile), for a launcher cluster
# (compose/launch.sh, OPML_PORT_BASE). Tries bases drawn from the process id, then the next ones.
set -eu
used=$(ss -Htan | awk '{n = split($4, a, ":"); print a[n]}' | sort -un)
b=$((10000 + ($$ % 200) * 100))
tries=0
while [ "$tries" -lt 200 ]; do
    clash=$(echo "$used" | awk -v lo="$b" -v hi="$((b + 99))" '$1 >= lo && $1 <= hi' | head -n 1)
    [ -z "$clash" ] && { echo "$b"; exit 0; }
    b=$((b + 100))
    [ "$b" -lt 30000 ] || b=10000
    tries=$((tries + 1))
done
echo "free_ports: no free range of 100 ports" >&2
exit 1
