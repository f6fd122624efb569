#!/usr/bin/env bash
# Rebuilds models/emu-nano from scratch: setup → sim export → vision tokenizer → BPE → tokenize →
# t2i curriculum and describe task → balanced cells → synthetic explore worlds → story drills (changed slots weighted 4, then 2) → train (replays training/recipe.json, resuming from the
# run's checkpoint; it stops at each round of on-policy story replays, which need the run's own model at that minute) → ONNX export → held-out eval → parity fixture → model folder. Each stage is skipped when
# its output exists; delete the output to redo it.
# Training runs in the foreground (1444 min on 2 cores; SCALE=0.1 rehearses the whole schedule in a tenth of
# the time); tail training/runs/nano/train.log.
# FROM_SHIPPED=1 continues the shipped model instead: the vision stage keeps models/emu-nano's codebook, BPE
# takes its ranks, and the run starts from its weights (training/nano/recover.py), so the replay trains only
# the recipe segments past the shipped model's minute.
# CFG sets the guidance scales written into the manifest (JSON {task: scale}; t2i/x2i only).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
D=training/data
RUN=${RUN:-training/runs/nano}
SCALE=${SCALE:-1}
FROM_SHIPPED=${FROM_SHIPPED:-0}
SHIPPED=models/emu-nano
CFG=${CFG:-'{"t2i": 1.0, "x2i": 1.0}'}
stage() { echo "== $1 ($(date +%T))"; }
recipe() { $PY -m training.nano.recipe --recipe training/recipe.json --run "$RUN" --data $D --scale "$SCALE" "$@"; }
# A round of on-policy story replays (training/storyReplay.ts): the run trains to the round's minute, tells 4000 stories
# with its own checkpoint (sampling seeds never the bench's), replays them through the simulator and appends them to the
# drill data as the `replay` form of tokens-NAME. Args: NAME MINUTE SEED SCORE_TEXT (drill.py --score-text).
replays() {
  local name=$1 at=$2 seed=$3 score=$4 model=$D/$1-model
  stage train;    recipe --through "$at"
  # a run already past the round's minute (FROM_SHIPPED) cannot tell its stories; recipe.py says so if a later segment needs them
  past=$($PY -c "from training.nano.recipe import checkpoint_state as c; print(int(c('$RUN/ckpt.pt')[0] > $at * $SCALE + 1e-3))")
  stage "$name";  [ -f $D/tokens-$name/train.npz ] || [ "$past" = 1 ] || { $PY -m training.nano.export_onnx --ckpt "$RUN/ckpt.pt" --out $model.onnx &&
                    $PY -m training.nano.package --vision $D/vision --ranks $D/nano.tiktoken --tokens $D/tokens-drill --decoder $model.onnx --ckpt "$RUN/ckpt.pt" --eval /nonexistent --out $model --cfg "$CFG" &&
                    node --import tsx training/storyReplay.ts --model $model --count 4000 --seed "$seed" --out $D/drill/$name.jsonl &&
                    $PY -m training.nano.drill --task replay --drills $D/drill/$name.jsonl --tokens $D/tokens-drill-w2 --out $D/tokens-$name --changed-weight 1 --score-text "$score"; }
}

stage setup;      training/setup.sh
stage export;     training/export.sh
if [ "$FROM_SHIPPED" = 1 ]; then
  stage vision;   [ -f $D/vision/codes.npz ] || { $PY -m training.nano.recover --model $SHIPPED --vision $D/vision --codebook-only &&
                    $PY -m training.nano.vision --data $D/export --out $D/vision --keep-codebook; }
  stage bpe;      [ -f $D/nano.tiktoken ] || cp $SHIPPED/nano.tiktoken $D/nano.tiktoken
else
  stage vision;   [ -f $D/vision/codes.npz ] || $PY -m training.nano.vision --data $D/export --out $D/vision
  stage bpe;      [ -f $D/nano.tiktoken ] || $PY -m training.nano.bpe_train --data $D/export --out $D/nano.tiktoken
fi
stage tokenize;   [ -f $D/tokens/heldout.npz ] || $PY -m training.nano.prepare --data $D/export --vision $D/vision --ranks $D/nano.tiktoken --out $D/tokens
stage augment;    [ -f $D/tokens-aug/train.npz ] || $PY -m training.nano.augment --tokens $D/tokens --out $D/tokens-aug
stage cells;      [ -f $D/tokens-cells/train.npz ] || $PY -m training.nano.cells --tokens $D/tokens-aug --out $D/tokens-cells --dense-cells 0
stage worlds;     [ -f $D/tokens-worlds/train.npz ] || $PY -m training.nano.worlds --tokens $D/tokens-cells --out $D/tokens-worlds
stage drill;      [ -f $D/tokens-drill/train.npz ] || { node --import tsx training/storyDrill.ts --count 30000 --out $D/drill/story.jsonl &&
                    $PY -m training.nano.drill --drills $D/drill/story.jsonl --tokens $D/tokens-worlds --out $D/tokens-drill; }
stage drill-w2;   [ -f $D/tokens-drill-w2/train.npz ] || $PY -m training.nano.drill --drills $D/drill/story.jsonl --tokens $D/tokens-worlds --out $D/tokens-drill-w2 --changed-weight 2
if [ "$FROM_SHIPPED" = 1 ] && [ ! -f "$RUN/ckpt.pt" ]; then
  stage recover;  $PY -m training.nano.recover --model $SHIPPED --vision $D/vision --out "$RUN/ckpt.pt"
fi
replays replay 1273.8 100000 none          # phase 15's stories, images scored (phase 16)
replays replay2 1399.59 200000 none        # phase 16's stories, images scored (phase 18)
stage train;      recipe
stage onnx;       $PY -m training.nano.export_onnx --ckpt "$RUN/ckpt.pt" --out $D/decoder.onnx
stage eval;       [ -f "$RUN/eval.json" ] || $PY -m training.nano.evaluate --tokens $D/tokens --ranks $D/nano.tiktoken --vision $D/vision --ckpt "$RUN/ckpt.pt" --out "$RUN/eval.json"
stage parity;     $PY -m training.nano.parity --data $D/export --vision $D/vision --ranks $D/nano.tiktoken --ckpt "$RUN/ckpt.pt" --out models/emu-nano/parity.json
# the summary's data figures come from the tokens folder the recipe ends on (its manifest limits are the same for every folder)
last=$($PY -c "import json; print(json.load(open('training/recipe.json'))['segments'][-1]['tokens'])")
stage package;    $PY -m training.nano.package --vision $D/vision --ranks $D/nano.tiktoken --tokens "$D/$last" --decoder $D/decoder.onnx --ckpt "$RUN/ckpt.pt" --eval "$RUN/eval.json" --out models/emu-nano --cfg "$CFG"
stage check;      node --import tsx training/checkVision.ts training/data/export models/emu-nano
stage test;       node test/run.mjs 'test/models/**/*.test.ts'
