import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportResult } from '../../../sdk/output/exportFolder.ts';
import { checkOutputFolder } from '../../../sdk/output/outputFolder.ts';
import { decodeStory } from '../../../sdk/output/storyProto.ts';
import { readImageFile } from '../../../sdk/image/codec.ts';
import { createRgbImage } from '../../../sdk/image/RgbImage.ts';

const RED = createRgbImage(4, 2, [255, 0, 0]);
const GREEN = createRgbImage(4, 2, [0, 255, 0]);

describe('exportResult', () => {
  const roots: string[] = [];
  const scratch = async () => {
    const d = await mkdtemp(path.join(tmpdir(), 'emu-export-'));
    roots.push(d);
    return d;
  };
  after(() => Promise.all(roots.map((d) => rm(d, { recursive: true, force: true }))));
  it('writes the vis_proto layout, the .pb and an index.html', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'emu-export-'));
    const res = await exportResult(dir, {
      question: 'Stack <the> blocks & "go"',
      references: [GREEN, GREEN],
      output: [
        { type: 'global_cot', text: 'plan' },
        { type: 'text', text: 'First <b>' },
        { type: 'image_cot', text: 'cot1' },
        { type: 'image', grid: { rows: 1, cols: 1 }, codes: [1], image: RED },
        { type: 'image', grid: { rows: 1, cols: 1 }, codes: [2] },
        { type: 'text', text: 'Second' },
      ],
    });
    const files = (await readdir(dir)).filter((f) => f !== '.emu-output').sort();
    assert.deepEqual(files, [
      '000_global_cot.txt',
      '000_question.txt',
      '000_reference_image.png',
      '001_reference_image.png',
      '002_00_image.png',
      '002_00_image_cot.txt',
      '002_01_image_codes.json',
      '002_text.txt',
      '003_text.txt',
      'index.html',
      'story.pb',
    ]);
    assert.deepEqual(res.files.slice().sort(), files);
    assert.equal(await readFile(path.join(dir, '000_question.txt'), 'utf8'), 'Stack <the> blocks & "go"');
    assert.equal(await readFile(path.join(dir, '002_text.txt'), 'utf8'), 'First <b>');
    assert.deepEqual(await readImageFile(path.join(dir, '002_00_image.png')), RED);
    assert.deepEqual(JSON.parse(await readFile(path.join(dir, '002_01_image_codes.json'), 'utf8')), { grid: { rows: 1, cols: 1 }, codes: [2] });
    const story = decodeStory(await readFile(res.protoFile));
    assert.equal(story.clips.length, 2);

    const html = await readFile(res.htmlFile, 'utf8');
    assert.ok(html.includes('Stack &lt;the&gt; blocks &amp; &quot;go&quot;'));
    assert.ok(html.includes('First &lt;b&gt;'));
    assert.ok(!html.includes('First <b>'));
    assert.ok(html.indexOf('src="000_reference_image.png"') < html.indexOf('First &lt;b&gt;'));
    assert.ok(html.indexOf('First &lt;b&gt;') < html.indexOf('src="002_00_image.png"'));
    assert.ok(html.indexOf('src="002_00_image.png"') < html.indexOf('Second'));
  });

  it('numbers clips from 1 when there is no reference', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'emu-export-'));
    await exportResult(dir, { question: 'q', references: [], output: [{ type: 'text', text: 'only' }] });
    const files = await readdir(dir);
    assert.ok(files.includes('001_text.txt'));
    assert.ok(!files.includes('000_global_cot.txt'));
  });

  it('replaces an older export whole (no stale files), refuses a folder that is not ours or a file, and leaves the old export on failure', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'emu-export-'));
    const dir = path.join(root, 'out');
    await exportResult(dir, { question: 'q', references: [RED], output: [{ type: 'text', text: 'one' }, { type: 'text', text: 'two' }] });
    assert.ok((await readdir(dir)).includes('002_text.txt'));
    await exportResult(dir, { question: 'q2', references: [], output: [{ type: 'text', text: 'only' }] });
    const files = (await readdir(dir)).filter((f) => !f.startsWith('.'));
    assert.deepEqual(files.sort(), ['000_question.txt', '001_text.txt', 'index.html', 'story.pb']);
    assert.deepEqual((await readdir(root)).filter((f) => f !== 'out'), [], 'no temporary folders left behind');

    const foreign = path.join(root, 'photos');
    await mkdir(foreign);
    await writeFile(path.join(foreign, 'holiday.jpg'), 'x');
    await assert.rejects(exportResult(foreign, { question: 'q', references: [], output: [] }), (e: Error & { code?: string }) => e.code === 'input_invalid' && /not an emu output \(holiday\.jpg\)/.test(e.message));
    assert.deepEqual(await readdir(foreign), ['holiday.jpg']);
    const file = path.join(root, 'afile');
    await writeFile(file, 'x');
    await assert.rejects(checkOutputFolder(file), /exists and is not a folder/);

    const bad = { question: 'q', references: [], output: [{ type: 'image', grid: { rows: 1, cols: 1 }, codes: [0], image: { width: 1, height: 1, data: new Uint8Array(1) } }] } as const;
    await assert.rejects(exportResult(dir, bad as never));
    assert.deepEqual((await readdir(dir)).filter((f) => !f.startsWith('.')).sort(), ['000_question.txt', '001_text.txt', 'index.html', 'story.pb'], 'a failed export leaves the previous one intact');
  });

  it('a folder that only shares a name or two with an emu output is not ours: it is refused, never replaced', async () => {
    const root = await scratch();
    for (const names of [['meta.json', 'examples.jsonl', 'my-notes.txt'], ['index.html'], ['story.pb', 'index.html', 'style.css'], ['results.json', 'report.html', 'paper.pdf']]) {
      const dir = path.join(root, names.join('+'));
      await mkdir(dir);
      for (const n of names) await writeFile(path.join(dir, n), 'mine');
      await assert.rejects(exportResult(dir, { question: 'q', references: [], output: [] }), (e: Error & { code?: string }) => e.code === 'input_invalid' && /not an emu output/.test(e.message), names.join(', '));
      assert.deepEqual((await readdir(dir)).sort(), [...names].sort(), 'left as it was');
    }
    // An export made before the marker existed (only its own files) is still recognised and replaced.
    const legacy = path.join(root, 'legacy');
    await mkdir(legacy);
    for (const n of ['000_question.txt', '001_text.txt', '002_text.txt', 'story.pb', 'index.html']) await writeFile(path.join(legacy, n), 'old');
    await exportResult(legacy, { question: 'q', references: [], output: [{ type: 'text', text: 'new' }] });
    assert.deepEqual((await readdir(legacy)).filter((f) => !f.startsWith('.')).sort(), ['000_question.txt', '001_text.txt', 'index.html', 'story.pb']);
  });

  it('output-folder problems are found up front: a file on the path, a folder that refuses writes', async () => {
    const root = await scratch();
    const file = path.join(root, 'a-file');
    await writeFile(file, 'x');
    await assert.rejects(checkOutputFolder(path.join(file, 'sub', 'out')), (e: Error & { code?: string }) => e.code === 'input_invalid' && /a-file' is a file, not a folder/.test(e.message));
    const readOnly = await unwritableFolder(root);
    if (readOnly) await assert.rejects(checkOutputFolder(path.join(readOnly, 'emu-out')), (e: Error & { code?: string }) => e.code === 'input_invalid' && /is not writable/.test(e.message));
  });

  it('through a symlinked --out the target folder is replaced and the link stays; a killed run\'s temporary folder is cleaned up', async () => {
    const root = await scratch();
    const real = path.join(root, 'real');
    const link = path.join(root, 'link');
    await exportResult(real, { question: 'q', references: [], output: [{ type: 'text', text: 'one' }] });
    await symlink(real, link);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid; // a pid that has exited
    await mkdir(path.join(root, `.real.tmp-${dead}-abcd1234`));
    await exportResult(link, { question: 'q2', references: [], output: [{ type: 'text', text: 'two' }] });
    assert.ok((await lstat(link)).isSymbolicLink(), 'the link is still a link');
    assert.equal(await readFile(path.join(real, '001_text.txt'), 'utf8'), 'two');
    assert.deepEqual((await readdir(root)).sort(), ['link', 'real'], 'no temporary folders left, the dead run\'s included');
  });
});

/** A folder this process cannot write into: a read-only copy for a normal user; for root (who ignores modes), /sys where it refuses writes. */
async function unwritableFolder(root: string): Promise<string | undefined> {
  if (process.getuid?.() !== 0) {
    const dir = path.join(root, 'read-only');
    await mkdir(dir, { mode: 0o555 });
    return dir;
  }
  const probe = await mkdtemp('/sys/.emu-').then((d) => rm(d, { recursive: true }).then(() => true), () => false);
  return probe ? undefined : '/sys';
}
