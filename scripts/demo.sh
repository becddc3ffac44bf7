#!/usr/bin/env bash
# The README's main job. For now (issue 2): install what is missing, build the release, start the
# bus and storage on loopback with fresh keys and an allow-list, check that each answers a health
# request over CURVE with a signed envelope, show the event stream, and stop them cleanly.
# Later issues grow it into the full demo (a model, a task on a local chain, a dispute).
#   bash scripts/demo.sh            (work files in build/demo; OPML_DEMO_PORT sets the first port)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target opml-bus opml-health opml $( [ -f storage/CMakeLists.txt ] && echo opml-storage ) >/dev/null

B=$top/build
work=$B/demo
rm -rf "$work"
mkdir -p "$work"
chmod 700 "$work"
port=${OPML_DEMO_PORT:-17500}
loop=tcp://127.0.0.1
actors=(bus)
[ -x "$B/storage/opml-storage" ] && actors+=(storage)

# Keys: one per actor and one for this script's client; the allow-list holds every CURVE key.
curve() { "$B/actors/opml-health" --key_file "$work/$1.key" --identity | awk '/^curve_key/ {print $2}'; }
for name in "${actors[@]}" client; do
  echo "$(curve "$name") $name" >>"$work/allow"
done
bus_key=$(curve bus)

pids=()
stop_all() { # the last started first, so that the bus still carries their actor.stopped
  local status=0 i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    if wait "${pids[$i]}"; then echo "demo: ${actors[$i]} stopped cleanly"; else echo "demo: ${actors[$i]} exited with $?"; status=1; fi
  done
  pids=()
  return $status
}
trap 'stop_all >/dev/null 2>&1 || true' EXIT

common=(--allow_file "$work/allow" --bus_pub "$bus_key@$loop:$port")
"$B/bus/opml-bus" --key_file "$work/bus.key" --allow_file "$work/allow" --events_in "$loop:$port" \
  --events_out "$loop:$((port + 1))" --work "$loop:$((port + 2))" --workers "$loop:$((port + 3))" 2>"$work/bus.log" &
pids+=($!)
peers=("$bus_key@$loop:$((port + 2))")

# Watch the event stream while the others start: actor.started / actor.stopped appear there.
"$B/cli/opml" events --bus "$bus_key@$loop:$((port + 1))" --key_file "$work/client.key" >"$work/events.jsonl" 2>"$work/events.log" &
events_pid=$!
sleep 0.5

if [[ " ${actors[*]} " == *" storage "* ]]; then
  "$B/storage/opml-storage" --key_file "$work/storage.key" "${common[@]}" --listen "$loop:$((port + 10))" \
    --db "$work/storage.db" 2>"$work/storage.log" &
  pids+=($!)
  peers+=("$(curve storage)@$loop:$((port + 10))")
else
  echo "demo: storage is not built yet; starting the bus only"
fi

status=0
for i in "${!actors[@]}"; do
  ok=
  for _ in $(seq 1 50); do
    if out=$("$B/actors/opml-health" --key_file "$work/client.key" --peer "${peers[$i]}" --timeout_ms 500 --retries 0 2>/dev/null); then
      ok=1
      break
    fi
    sleep 0.2
  done
  if [ -n "$ok" ]; then echo "demo: ${actors[$i]} healthy: $out"; else echo "demo: ${actors[$i]} did not answer health (log: $work/${actors[$i]}.log)"; status=1; fi
done

stop_all || status=1
kill -TERM "$events_pid" 2>/dev/null; wait "$events_pid" || true
echo "demo: events seen:"
sed 's/^/  /' "$work/events.jsonl"
[ $status -eq 0 ] && echo "demo: OK" || echo "demo: FAILED"
exit $status
