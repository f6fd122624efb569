import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeStory } from '../../sdk/output/storyProto.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('emu explore (CLI, emu-nano)', function () {
  this.timeout(120_000);

  it('commands from stdin: each step appends to story.pb and index.html; :walk, :fork/:back, :save, unknown commands said', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'emu-explore-'));
    const out = path.join(dir, 'walk');
    const saved = path.join(dir, 'saved');
    const input = ['look left', ':walk 1', ':fork', 'look right', ':back', `:save ${saved}`, ':bogus', ':quit', 'never read'].join('\n');
    const r = spawnSync(process.execPath, [path.join(root, 'bin/emu.js'), 'explore', '--image', path.join(root, 'docs/img/main-job.png'), '--max-new-tokens', '120', '--seed', '3', '--out', out], { cwd: root, input, encoding: 'utf8', timeout: 100_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\[step 1: /);
    assert.match(r.stdout, /\[step 2: /);
    assert.match(r.stdout, /\[checkpoint 1 at step 2\]/);
    assert.match(r.stdout, /\[back at step 2\]/);
    assert.match(r.stdout, /\[unknown command :bogus/);
    assert.match(r.stdout, /\[2 steps\]/);
    const html = readFileSync(path.join(out, 'index.html'), 'utf8');
    assert.ok(html.includes('&gt; look left'), 'the command is in the story');
    assert.ok(html.includes('&gt; (the model walks on)'));
    assert.ok(!html.includes('&gt; look right'), ':back dropped the branch');
    const story = decodeStory(readFileSync(path.join(out, 'story.pb')));
    assert.equal(story.referenceImages.length, 1);
    assert.ok(story.clips.length >= 1);
    assert.ok(readdirSync(out).some((f) => f.endsWith('_image.png')), 'the views are saved');
    assert.ok(readdirSync(saved).includes('story.pb'), ':save DIR wrote there');
  });
});
