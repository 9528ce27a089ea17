#!/usr/bin/env bash
# Soak test of kill-and-resume: SIGKILLs a training run N times at random instants, resumes it each
# time with --resume, and checks that every run ends exactly like an uninterrupted one.
#
# Usage: Scripts/soak.sh N [WORKDIR]     (SOAK_KILLS_PER_TRIAL, default 3: the most kills of one trial)
#
# Three configurations alternate between trials, together holding every kind of state a resume must
# restore: shuffling, dropout masks, batch-norm statistics, Adam and momentum buffers, a step schedule,
# early-stopping bookkeeping on a validation split, mid-epoch checkpoints every 3 steps, a plateau
# schedule, augmentation of images (B needs Fashion-MNIST, else it is skipped), gradient accumulation,
# mixup, an exponential moving average of the weights and keep-best files (C). A trial is killed
# again and again (each kill after a random delay up to the length of an uninterrupted run), at most
# SOAK_KILLS_PER_TRIAL times, then left to complete; N kills are spread over as many trials as that takes.
#
# Each finished trial must have:
#   - model.safetensors (and every other weights file: ema, best, keep-best) and checkpoint.safetensors's
#     weights bitwise equal to the uninterrupted run's;
#   - the same final line (apart from the seconds);
#   - metrics.csv and metrics.jsonl with each epoch exactly once, equal to the reference (apart from
#     the wall-clock seconds column);
#   - TensorBoard logs that the real `tensorboard` reads (Scripts/check_tensorboard.py, when a Python
#     with tensorboard is found: $NABLA_PYTHON, .build/tbenv, /work/torchenv) with every step of every
#     tag once, equal to the reference;
#   - no temporary file left behind.
# Exit status 0 when every trial passes; 1 otherwise. The binary is $NABLA, else the release build,
# else the debug build.
set -u
N=${1:?usage: Scripts/soak.sh N [WORKDIR]}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${2:-$(mktemp -d /tmp/nabla-soak.XXXXXX)}
mkdir -p "$WORK"
NABLA=${NABLA:-}
if [ -z "$NABLA" ]; then
  if [ -x "$ROOT/.build/release/nabla" ]; then NABLA=$ROOT/.build/release/nabla; else NABLA=$ROOT/.build/debug/nabla; fi
fi
[ -x "$NABLA" ] || { echo "soak: no nabla binary at $NABLA (build it first)"; exit 1; }
PYTHON=""
for candidate in "${NABLA_PYTHON:-}" "$ROOT/.build/tbenv/bin/python" /work/torchenv/bin/python; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c "import tensorboard" 2>/dev/null; then PYTHON=$candidate; break; fi
done

CONFIG_A=(--model fcnet:32,32 --norm batchnorm --dropout 0.2 --data "synthetic:spirals?n=300" --batch-size 16
          --optimizer adam --lr 0.01 --epochs 6 --seed 3 --schedule step:2:0.5 --val-split 0.2 --early-stop 4
          --checkpoint-every 3)
CONFIG_B=(--model lenet-bn --data fashion-mnist --train-subset 640 --batch-size 32 --optimizer sgd --lr 0.05
          --momentum 0.9 --augment crop:2,flip --schedule plateau:0.5:1 --epochs 3 --seed 7 --checkpoint-every 4)
CONFIG_C=(--model fcnet:16,16 --dropout 0.2 --data "synthetic:spirals?n=200" --batch-size 16 --accumulate 2
          --optimizer sgd --lr 0.05 --momentum 0.9 --mixup 0.4 --ema 0.9 --keep-best val_loss --val-split 0.2
          --epochs 5 --seed 11 --checkpoint-every 2)
CONFIGS=(A C)
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && CONFIGS+=(B)
PER_TRIAL=${SOAK_KILLS_PER_TRIAL:-3}

args_of() {
  case "$1" in
    A) printf '%s\n' "${CONFIG_A[@]}" ;;
    B) printf '%s\n' "${CONFIG_B[@]}" ;;
    *) printf '%s\n' "${CONFIG_C[@]}" ;;
  esac
}
without_seconds_csv() { python3 -c "
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
i = rows[0].index('seconds')
for r in rows: print(','.join(r[:i] + r[i+1:]))" "$1"; }
without_seconds_jsonl() { python3 -c "
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line); d.pop('seconds', None); print(json.dumps(d, sort_keys=True))" "$1"; }
final_line() { sed 's/\tseconds=[0-9.]*//' "$1"; }
checkpoint_weights() { python3 -c "
import json, struct, sys
b = open(sys.argv[1], 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8 + n])
for k in sorted(h):
    if k.startswith('model.'): s, e = h[k]['data_offsets']; print(k, b[8 + n + s:8 + n + e].hex())" "$1" | sha256sum; }

# Reference runs, uninterrupted, and their durations (the range of the random kill delays).
declare -A SECONDS_OF
for c in "${CONFIGS[@]}"; do
  mapfile -t ARGS < <(args_of "$c")
  rm -rf "$WORK/ref$c"
  start=$(date +%s.%N)
  "$NABLA" train "${ARGS[@]}" --quiet --checkpoint-dir "$WORK/ref$c" --logdir "$WORK/ref$c/log" > "$WORK/ref$c.out" 2> "$WORK/ref$c.err" \
    || { echo "soak: reference run $c failed: $(cat "$WORK/ref$c.err")"; exit 1; }
  SECONDS_OF[$c]=$(python3 -c "import sys; print(max(1.0, float(sys.argv[2]) - float(sys.argv[1])))" "$start" "$(date +%s.%N)")
  [ -n "$PYTHON" ] && { "$PYTHON" "$ROOT/Scripts/check_tensorboard.py" "$WORK/ref$c/log" > "$WORK/ref$c.tb.json" \
    || { echo "soak: the reference TensorBoard log of $c does not read back"; exit 1; }; }
  echo "soak: reference $c: ${SECONDS_OF[$c]} s  ($(cat "$WORK/ref$c.out" | tr '\t' ' '))"
done

kills=0; trials=0; passed=0; failures=()
while [ $kills -lt "$N" ]; do
  c=${CONFIGS[$((trials % ${#CONFIGS[@]}))]}
  trials=$((trials + 1))
  mapfile -t ARGS < <(args_of "$c")
  dir="$WORK/trial$trials"
  rm -rf "$dir"
  trial_kills=0
  while true; do
    "$NABLA" train "${ARGS[@]}" --quiet --checkpoint-dir "$dir" --logdir "$dir/log" --resume > "$dir.out" 2> "$dir.err" &
    pid=$!
    if [ $kills -lt "$N" ] && [ $trial_kills -lt "$PER_TRIAL" ]; then
      delay=$(python3 -c "import random, sys; print(round(random.uniform(0.05, float(sys.argv[1])), 3))" "${SECONDS_OF[$c]}")
      sleep "$delay"
      if kill -9 "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null
        kills=$((kills + 1)); trial_kills=$((trial_kills + 1))
        continue
      fi
    fi
    wait "$pid"; status=$?
    break
  done
  problems=()
  [ $status -eq 0 ] || problems+=("exit status $status: $(head -c 300 "$dir.err")")
  for weights in "$WORK/ref$c"/*.safetensors; do
    name=$(basename "$weights")
    [ "$name" = checkpoint.safetensors ] && continue
    cmp -s "$dir/$name" "$weights" || problems+=("$name differs")
  done
  [ "$(checkpoint_weights "$dir/checkpoint.safetensors")" = "$(checkpoint_weights "$WORK/ref$c/checkpoint.safetensors")" ] \
    || problems+=("checkpoint weights differ")
  [ "$(final_line "$dir.out")" = "$(final_line "$WORK/ref$c.out")" ] || problems+=("final line differs")
  [ "$(without_seconds_csv "$dir/log/metrics.csv")" = "$(without_seconds_csv "$WORK/ref$c/log/metrics.csv")" ] \
    || problems+=("metrics.csv differs")
  [ "$(without_seconds_jsonl "$dir/log/metrics.jsonl")" = "$(without_seconds_jsonl "$WORK/ref$c/log/metrics.jsonl")" ] \
    || problems+=("metrics.jsonl differs")
  if [ -n "$PYTHON" ]; then
    if "$PYTHON" "$ROOT/Scripts/check_tensorboard.py" "$dir/log" > "$dir.tb.json" 2> "$dir.tb.err"; then
      python3 - "$dir.tb.json" "$WORK/ref$c.tb.json" <<'EOF' || problems+=("TensorBoard logs differ")
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
def steps(d, kind): return {t: [e[0] if kind == "scalars" else e["step"] for e in v] for t, v in d[kind].items()}
for kind in ("scalars", "histograms"):
    s = steps(a, kind)
    if s != steps(b, kind): sys.exit(1)
    if any(len(v) != len(set(v)) for v in s.values()): sys.exit(1)  # a step logged twice
if a["scalars"] != b["scalars"]: sys.exit(1)
strip = lambda d: {t: [{k: e[k] for k in ("step", "num", "min", "max", "sum")} for e in v] for t, v in d["histograms"].items()}
if strip(a) != strip(b): sys.exit(1)
EOF
    else
      problems+=("TensorBoard cannot read the logs: $(cat "$dir.tb.err")")
    fi
  fi
  leftovers=$(find "$dir" -name '.*.tmp-*' | head -3)
  [ -z "$leftovers" ] || problems+=("temporary files left: $leftovers")
  if [ ${#problems[@]} -eq 0 ]; then
    passed=$((passed + 1))
    echo "soak: trial $trials ($c): $trial_kills kills, resumed to identical weights and logs"
  else
    failures+=("trial $trials ($c, $trial_kills kills): ${problems[*]}")
    echo "soak: trial $trials ($c): $trial_kills kills: FAILED: ${problems[*]}"
  fi
done
echo "soak: $kills SIGKILLs over $trials trials; $passed of $trials ended bitwise identical to the uninterrupted run" \
     "$([ -n "$PYTHON" ] && echo "(TensorBoard checked with $PYTHON)" || echo "(TensorBoard not checked: no python with tensorboard)")"
[ ${#failures[@]} -eq 0 ] || { printf 'soak: %s\n' "${failures[@]}"; exit 1; }
