import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
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
});
