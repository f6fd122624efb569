import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { exportTask } from '../../../sim/export/exportTask.ts';
import { perceiveLayout } from '../../../sim/perception/perceiveLayout.ts';
import { EXPORT_TASKS } from '../../../sim/tasks/taskExamples.ts';
import { layoutKey, type Layout } from '../../../sim/world/Layout.ts';

interface Line {
  id: string;
  task: string;
  split: string;
  seed: number;
  suite: string | null;
  instruction: string;
  inputs: string[];
  output: ({ type: 'text'; text: string } | { type: 'image'; path: string })[];
  layouts: Record<string, Layout>;
}

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'emu-export-'));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function readLines(dir: string): Line[] {
  return readFileSync(path.join(dir, 'examples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);
}

describe('exportTask', () => {
  for (const task of EXPORT_TASKS) {
    it(`${task}: writes meta, examples and PNGs that read back to their layouts`, async () => {
      const out = tmp();
      const summary = await exportTask({ task, split: 'heldout', count: 4, seed: 5, out });
      const meta = JSON.parse(readFileSync(path.join(out, 'meta.json'), 'utf8'));
      assert.deepEqual(meta, { format: 'emu-sim-export', version: 1, task, split: 'heldout', count: 4, seed: 5, frameSize: [128, 128], grid: [8, 8] });
      const lines = readLines(out);
      assert.equal(lines.length, 4);
      assert.equal(summary.count, 4);
      lines.forEach((ex, i) => {
        assert.equal(ex.id, `${task}-heldout-${String(i).padStart(6, '0')}`);
        assert.equal(ex.seed, 5 + i);
        assert.equal(ex.suite === null, task !== 'vla' && task !== 'howto');
        const images = ex.output.filter((o) => o.type === 'image');
        if (task === 't2i' || task === 'x2i') assert.equal(ex.output.length, 1);
        if (task === 't2i') assert.equal(ex.inputs.length, 0);
        else if (task !== 'story') assert.equal(ex.inputs.length, 1);
        if (task === 'vla' || task === 'howto' || task === 'explore') {
          ex.output.forEach((o, k) => assert.equal(o.type, k % 2 === 0 ? 'text' : 'image'));
        }
        assert.ok(images.length >= 1);
      });
      let frames = 0;
      for (const ex of lines) {
        for (const rel of [...ex.inputs, ...ex.output.flatMap((o) => (o.type === 'image' ? [o.path] : []))]) {
          const { data, info } = await sharp(path.join(out, rel)).raw().toBuffer({ resolveWithObject: true });
          assert.deepEqual([info.width, info.height, info.channels], [128, 128, 3]);
          const seen = perceiveLayout({ width: 128, height: 128, data: new Uint8Array(data) });
          assert.equal(layoutKey(seen), layoutKey(ex.layouts[rel]!), rel);
          frames++;
        }
      }
      assert.equal(summary.frames, frames);
    });
  }

  it('vla: the text items are the canonical subgoals and the keyframes follow them', async () => {
    const out = tmp();
    await exportTask({ task: 'vla', split: 'train', count: 6, out });
    for (const ex of readLines(out)) {
      for (const o of ex.output) if (o.type === 'text') assert.match(o.text, /^(put|stack|move) the \w+ block /);
    }
  });

  it('is deterministic and independent of the worker count (and 640×480 works)', async () => {
    const a = tmp();
    const b = tmp();
    await exportTask({ task: 'vla', split: 'train', count: 6, out: a, chunkSize: 2, width: 640, height: 480 });
    await exportTask({ task: 'vla', split: 'train', count: 6, out: b, chunkSize: 2, workers: 2, width: 640, height: 480 });
    assert.equal(readFileSync(path.join(a, 'examples.jsonl'), 'utf8'), readFileSync(path.join(b, 'examples.jsonl'), 'utf8'));
    const first = readLines(a)[0]!.output.find((o) => o.type === 'image')!;
    assert.ok(first.type === 'image');
    assert.deepEqual(readFileSync(path.join(a, first.path)), readFileSync(path.join(b, first.path)));
  });

  it('replaces an older export whole, and a stopped export keeps what it did, marked partial', async () => {
    const out = path.join(tmp(), 'export');
    await exportTask({ task: 't2i', split: 'train', count: 6, seed: 1, out, chunkSize: 2 });
    assert.equal(readdirSync(path.join(out, 'frames')).length, 6);
    await exportTask({ task: 't2i', split: 'train', count: 2, seed: 1, out });
    assert.equal(readdirSync(path.join(out, 'frames')).length, 2, 'no stale frames from the larger export');

    const stop = new AbortController();
    const summary = await exportTask({ task: 't2i', split: 'train', count: 8, seed: 1, out, chunkSize: 2 }, (done) => done >= 4 && stop.abort(), { signal: stop.signal });
    const meta = JSON.parse(readFileSync(path.join(out, 'meta.json'), 'utf8'));
    assert.equal(summary.partial, true);
    assert.deepEqual({ count: meta.count, partial: meta.partial, requested: meta.requested }, { count: 4, partial: true, requested: 8 });
    assert.equal(readLines(out).length, 4);

    const foreign = tmp();
    writeFileSync(path.join(foreign, 'thesis.tex'), 'x');
    await assert.rejects(exportTask({ task: 't2i', split: 'train', count: 1, out: foreign }), /not an emu output/);
    assert.deepEqual(readdirSync(foreign), ['thesis.tex']);
  });
});
