#!/usr/bin/env bash
# Several hosts for real, on one machine: network namespaces joined by veth pairs to a bridge
# (in a namespace of its own, so the machine's network is untouched), TCP between them, and
# CurveZMQ on every connection. It checks that
#   - a train job survives `kill -9` of the trainer running it (it resumes on the other host),
#   - the coordinator deploys the result and the generator on its own host serves it,
#   - a client whose key is not allowed gets nothing, and the others keep being served.
# Needs root and iproute2. The folder every worker shares is a local folder here (in a real
# cluster, a shared volume).
#   deploy/multihost-test.sh [BIN_DIR]      (default: the debug build folder)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-$(swift build --show-bin-path 2>/dev/null || echo .build/debug)}"
[[ $(id -u) == 0 ]] || { echo "multihost-test: needs root (ip netns)" >&2; exit 2; }
command -v ip >/dev/null || { echo "multihost-test: needs iproute2" >&2; exit 2; }

tag="cz$$"
work=$(mktemp -d)
hosts=(coord train-a train-b gen client)
declare -A address=([coord]=10.77.0.1 [train-a]=10.77.0.2 [train-b]=10.77.0.3 [gen]=10.77.0.4 [client]=10.77.0.5)
declare -A pid
log() { echo "multihost-test: $*" >&2; }
cleanup() {
    for p in "${pid[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for h in "${hosts[@]}" switch; do ip netns del "$tag-$h" 2>/dev/null || true; done
    if [[ "${keep:-}" != 1 ]]; then rm -rf "$work"; else log "kept $work"; fi
}
trap cleanup EXIT
fail() { log "FAILED: $*"; for f in "$work"/logs/*.log; do echo "--- $f" >&2; tail -20 "$f" >&2; done; keep=1; exit 1; }

# The network: a bridge in "switch", one namespace per host, each with one veth end on it.
ip netns add "$tag-switch"
ip -n "$tag-switch" link add br0 type bridge
ip -n "$tag-switch" link set br0 up
i=0
for h in "${hosts[@]}"; do
    i=$((i + 1))
    ip netns add "$tag-$h"
    ip link add "$tag-v$i" type veth peer name "$tag-p$i"
    ip link set "$tag-v$i" netns "$tag-$h"
    ip link set "$tag-p$i" netns "$tag-switch"
    ip -n "$tag-switch" link set "$tag-p$i" master br0 up
    ip -n "$tag-$h" link set lo up
    ip -n "$tag-$h" link set "$tag-v$i" name eth0
    ip -n "$tag-$h" addr add "${address[$h]}/24" dev eth0
    ip -n "$tag-$h" link set eth0 up
done
on() { local h=$1; shift; ip netns exec "$tag-$h" "$@"; }
log "network up: ${hosts[*]} on 10.77.0.0/24"

# Keys: the coordinator accepts the listed ones only.
mkdir -p "$work/keys" "$work/data/models" "$work/logs"
for k in coordinator trainer-a trainer-b prep generator client mallory operator stranger; do "$bin/cuentista" keys generate "$work/keys/$k" >/dev/null; done
cp -r Tests/Fixtures/models/tiny-safetensors "$work/data/models/base"
cp -r corpus "$work/data/corpus"
endpoint="tcp://${address[coord]}:5555"
workers_endpoint="tcp://${address[coord]}:5556"
client_keys=(--coordinator "$endpoint" --server-key "$work/keys/coordinator.pub" --keys "$work/keys/client.key")
# An admin key: --deploy (switching every generator) is an admin's call.
admin_keys=(--coordinator "$endpoint" --server-key "$work/keys/coordinator.pub" --keys "$work/keys/operator.key")
start() {  # host name command...
    local h=$1 name=$2; shift 2
    # `ip netns exec` execs the program: $! is the program itself, so kill -9 reaches it.
    ip netns exec "$tag-$h" "$@" >"$work/logs/$name.log" 2>&1 &
    pid[$name]=$!
    disown "$!"
}
worker() {  # host name executable extra...
    local h=$1 name=$2 exe=$3; shift 3
    # --connect: the spelling of earlier versions, still accepted (deployments keep working).
    start "$h" "$name" "$bin/$exe" --connect "$workers_endpoint" --data-dir "$work/data" --worker-id "$name" \
        --server-key "$work/keys/coordinator.pub" --keys "$work/keys/$name.key" "$@"
}
allow=(--allow-client-key "$work/keys/client.pub" --allow-client-key "$work/keys/mallory.pub" --allow-admin-key "$work/keys/operator.pub")
for k in trainer-a trainer-b prep generator; do allow+=(--allow-worker-key "$work/keys/$k.pub"); done
start coord coordinator "$bin/cuentista" coordinator --bind "$endpoint" --worker-bind "$workers_endpoint" --data-dir "$work/data" \
    --keys "$work/keys/coordinator.key" "${allow[@]}"
worker coord prep cuentista-prep
worker train-a trainer-a cuentista-trainer
worker train-b trainer-b cuentista-trainer
worker gen generator cuentista-generator --model models/base

registered() { on client "$bin/cuentista" status "${client_keys[@]}" --timeout-ms 2000 --require-worker "$1" >/dev/null 2>&1; }
for w in prep trainer-a trainer-b generator; do
    for _ in $(seq 100); do registered "$w" && break; sleep 0.2; done
    registered "$w" || fail "$w did not register across the namespaces"
done
log "coordinator, prep, two trainers and a generator registered over TCP with CurveZMQ"

# A client whose key is not listed gets nothing; one without keys neither.
if on client "$bin/cuentista" status --coordinator "$endpoint" --server-key "$work/keys/coordinator.pub" --keys "$work/keys/stranger.key" --timeout-ms 2000 >/dev/null 2>&1; then
    fail "a client with an unlisted key was served"
fi
if on client "$bin/cuentista" status --coordinator "$endpoint" --timeout-ms 2000 >/dev/null 2>&1; then
    fail "a client without CurveZMQ was served"
fi
grep -q "refused a CURVE connection" "$work/logs/coordinator.log" || fail "the coordinator did not log the refused key"
registered generator || fail "the allowed client is no longer served after the refused ones"
log "an unlisted key and a plain connection got nothing; the allowed client is still served"

# The client host tries to register as a worker with its (allowed) client key: on the worker
# endpoint its key is not allowed; on the client endpoint worker commands are refused.
start client fake-1 "$bin/cuentista-generator" --coordinator "$workers_endpoint" --data-dir "$work/data" --worker-id fake-1 \
    --model models/base --server-key "$work/keys/coordinator.pub" --keys "$work/keys/client.key"
start client fake-2 "$bin/cuentista-generator" --coordinator "$endpoint" --data-dir "$work/data" --worker-id fake-2 \
    --model models/base --server-key "$work/keys/coordinator.pub" --keys "$work/keys/client.key"
sleep 4
registered fake-1 && fail "a client key registered as a worker on the worker endpoint"
registered fake-2 && fail "a client connection registered as a worker on the client endpoint"
grep -q "refused a non-worker message on the worker\|refused a worker command on the client" "$work/logs/coordinator.log" \
    || fail "the coordinator did not log the client posing as a worker"
kill -9 "${pid[fake-1]}" "${pid[fake-2]}" 2>/dev/null || true
log "a client key could not register as a worker, on either endpoint"

# A job across hosts: prepare, then train with checkpoints every 5 steps, deployed when done.
on client "$bin/cuentista" jobs submit prepare "${client_keys[@]}" --input corpus/products.jsonl --tokenizer models/base \
    --out prepared/p --template "{product_title}\n{product_description}" --max-length 64 --limit 200 --follow >/dev/null 2>&1 \
    || fail "the prepare job did not succeed"
submitted=$(on client "$bin/cuentista" jobs submit train "${admin_keys[@]}" --model models/base --data prepared/p --out runs/ft \
    --epochs 6 --batch-size 4 --lr 1e-3 --save-every 5 --deploy)
job=$(awk '{print $1}' <<<"$submitted")
# Another allowed client cannot see or cancel it, nor switch the generators' model.
mallory=(--coordinator "$endpoint" --server-key "$work/keys/coordinator.pub" --keys "$work/keys/mallory.key")
on client "$bin/cuentista" jobs cancel "$job" "${mallory[@]}" >/dev/null 2>&1 && fail "another client cancelled $job"
on client "$bin/cuentista" jobs list "${mallory[@]}" 2>/dev/null | grep -q "$job" && fail "another client sees $job"
log "another client key could neither see nor cancel $job"
victim=""
for _ in $(seq 200); do
    line=$(on client "$bin/cuentista" jobs status "$job" "${admin_keys[@]}" 2>/dev/null | head -1)
    if [[ "$line" == *running* && -n $(ls "$work/data/runs/ft" 2>/dev/null | grep checkpoint- || true) ]]; then
        victim=$(sed -n 's/.*worker \([a-z-]*\).*/\1/p' <<<"$line")
        break
    fi
    sleep 0.1
done
[[ -n "$victim" ]] || fail "the train job did not start"
kill -9 "${pid[$victim]}"
log "killed $victim (kill -9) while it ran $job"
for _ in $(seq 300); do
    line=$(on client "$bin/cuentista" jobs status "$job" "${admin_keys[@]}" 2>/dev/null | head -1)
    [[ "$line" == *succeeded* || "$line" == *failed* ]] && break
    sleep 0.2
done
[[ "$line" == *succeeded* ]] || fail "$job did not succeed after the kill: $line"
[[ "$line" == *"attempts 2"* ]] || fail "$job should have taken 2 attempts: $line"
survivor=$([[ $victim == trainer-a ]] && echo trainer-b || echo trainer-a)
grep -q "resuming" "$work/logs/$survivor.log" || fail "$survivor did not resume from the checkpoint"
log "$job finished on $survivor after resuming from its checkpoint"

# The generator on its own host serves the deployed model.
for _ in $(seq 100); do
    on client "$bin/cuentista" status "${client_keys[@]}" 2>/dev/null | grep -q "generator (runs/ft/final)" && break
    sleep 0.2
done
on client "$bin/cuentista" status "${client_keys[@]}" | grep -q "generator (runs/ft/final)" || fail "the generator did not switch to runs/ft/final"
text=$(on client "$bin/cuentista" generate --prompt "Había una vez" --max-new-tokens 8 --remote "$endpoint" \
    --server-key "$work/keys/coordinator.pub" --keys "$work/keys/client.key") || fail "generation across hosts failed"
[[ "$text" == *"finish reason"* ]] || fail "unexpected generation output: $text"
log "the generator serves runs/ft/final across hosts"
log "PASSED"
