#!/usr/bin/env bash
# Exports the simulator's six tasks into training/data/export/<task>-<split> (skips finished ones).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=training/data/export
WORKERS=${WORKERS:-2}
# Composing a frame from text (t2i, story openings) and edits (x2i) need the most examples. Phases 1-11 of the
# shipped model trained on 10000 t2i, 8000 x2i and 5000 story examples; phase 12 on these counts.
declare -A TRAIN=([vla]=${VLA_TRAIN:-8000} [t2i]=${T2I_TRAIN:-20000} [x2i]=${X2I_TRAIN:-24000} [story]=${STORY_TRAIN:-25000} [howto]=2000 [explore]=2000)
declare -A HELD=([vla]=300 [t2i]=60 [x2i]=60 [story]=60 [howto]=60 [explore]=60)
for task in vla t2i x2i story howto explore; do
  for split in train heldout; do
    if [ "$split" = train ]; then n=${TRAIN[$task]}; else n=${HELD[$task]}; fi
    dir=$OUT/$task-$split
    if [ -f "$dir/meta.json" ] && grep -Eq "\"count\": *$n," "$dir/meta.json"; then continue; fi
    rm -rf "$dir"
    node bin/emu.js sim export --task "$task" --split "$split" --count "$n" --out "$dir" --workers "$WORKERS"
  done
done
