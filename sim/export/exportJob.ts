import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderLayout, type FrameSize } from '../render/renderLayout.ts';
import { executeSubgoal } from '../skills/executeSubgoal.ts';
import type { Split } from '../tasks/generateScene.ts';
import { makeTaskExample, type ExportTask, type TaskExample } from '../tasks/taskExamples.ts';
import type { Layout } from '../world/Layout.ts';
import { SimWorld } from '../world/SimWorld.ts';
import { encodePng } from '../../sdk/image/encodePng.ts';

export interface ExportChunk {
  task: ExportTask;
  split: Split;
  /** Example indices [start, end); example i has seed `seed + i`. */
  start: number;
  end: number;
  seed: number;
  size: FrameSize;
  outDir: string;
  physics: boolean;
  layouts: boolean;
}

export interface ExportChunkResult {
  lines: string[];
  frames: number;
}

/** Builds, renders and writes the PNGs of one chunk of examples; returns their JSONL lines in order. */
export async function runJob(chunk: ExportChunk): Promise<ExportChunkResult> {
  const frames = path.join(chunk.outDir, 'frames');
  mkdirSync(frames, { recursive: true });
  const lines: string[] = [];
  let count = 0;
  for (let i = chunk.start; i < chunk.end; i++) {
    const seed = chunk.seed + i;
    const example = makeTaskExample(chunk.task, chunk.split, seed);
    if (chunk.physics && (chunk.task === 'vla' || chunk.task === 'howto')) await replayWithPhysics(example);
    lines.push(JSON.stringify(writeExample(chunk, i, seed, example)));
    count += example.inputs.length + example.output.filter((item) => item.type === 'image').length;
  }
  return { lines, frames: count };
}

function writeExample(chunk: ExportChunk, index: number, seed: number, example: TaskExample) {
  const id = `${chunk.task}-${chunk.split}-${String(index).padStart(6, '0')}`;
  const layouts: Record<string, Layout> = {};
  const save = (name: string, layout: Layout): string => {
    const rel = `frames/${id}-${name}.png`;
    writeFileSync(path.join(chunk.outDir, rel), encodePng(renderLayout(layout, chunk.size)));
    layouts[rel] = layout;
    return rel;
  };
  const inputs = example.inputs.map((layout, k) => save(`in${k}`, layout));
  let k = 0;
  const output = example.output.map((item) => (item.type === 'text' ? item : { type: 'image' as const, path: save(`out${k++}`, item.layout) }));
  return {
    id,
    task: chunk.task,
    split: chunk.split,
    seed,
    suite: example.suite,
    instruction: example.instruction,
    inputs,
    output,
    ...(chunk.layouts ? { layouts } : {}),
  };
}

/** Re-executes the plan's subgoals in the rigid-body world and keeps the frames it reaches. */
async function replayWithPhysics(example: TaskExample): Promise<void> {
  const world = await SimWorld.create(example.inputs[0]!, { physics: true });
  try {
    for (let k = 0; k < example.output.length; k += 2) {
      const text = example.output[k]!;
      if (text.type !== 'text') continue;
      const result = executeSubgoal(world, text.text.replace(/^step \d+: /, ''));
      example.output[k + 1] = { type: 'image', layout: result.layout };
    }
  } finally {
    world.dispose();
  }
}
