import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { OutputItem } from '../generation/GenerationEvent.ts';
import type { RgbImage } from '../image/RgbImage.ts';
import { replaceFolder } from './outputFolder.ts';
import { codesOf, encodeStory, toStory, type Story, type StoryImageMeta } from './storyProto.ts';

export interface ExportInput {
  question: string;
  references: readonly RgbImage[];
  output: readonly OutputItem[];
  /** Extra text files written with the result (e.g. `TRUNCATED.txt`), name → content; also shown atop index.html. */
  notes?: Readonly<Record<string, string>>;
}

export interface ExportedFiles {
  /** every file written, relative to the folder, in write order */
  files: string[];
  protoFile: string;
  htmlFile: string;
}

const PROTO_NAME = 'story.pb';
const HTML_NAME = 'index.html';
const pad = (n: number, w: number) => String(n).padStart(w, '0');

/**
 * Writes a result the way Emu3.5's `vis_proto.py` lays out a story (`000_question.txt`,
 * `000_global_cot.txt`, `{i:03d}_reference_image.png`, per clip `{idx:03d}_text.txt`,
 * `{idx:03d}_{j:02d}_image.png`, `{idx:03d}_{j:02d}_image_cot.txt`, clip idx starting at the number of
 * references or 1), plus the `.pb` and an `index.html` showing the interleaved result.
 * Images that were not VQ-decoded are written as `{idx:03d}_{j:02d}_image_codes.json`.
 */
export async function exportResult(dir: string, input: ExportInput): Promise<ExportedFiles> {
  // Written whole into a fresh folder and renamed into place: an older export is replaced, never mixed with this one.
  const files = await replaceFolder(dir, (tmp) => writeExport(tmp, input));
  return { files, protoFile: path.join(dir, PROTO_NAME), htmlFile: path.join(dir, HTML_NAME) };
}

async function writeExport(dir: string, input: ExportInput): Promise<string[]> {
  const story = await toStory(input.question, input.references, input.output);
  const files: string[] = [];
  const html: string[] = [];
  const put = async (name: string, data: string | Uint8Array) => {
    await writeFile(path.join(dir, name), data);
    files.push(name);
  };

  await put('000_question.txt', story.question ?? '');
  // Notes (a truncation, say) go first on the page: a partial result must not read as a whole one.
  for (const [name, text] of Object.entries(input.notes ?? {})) html.push(`<p class="note"><b>${escapeHtml(path.basename(name))}</b>: ${escapeHtml(text)}</p>`);
  html.push(`<h1>Question</h1>\n<p class="question">${escapeHtml(story.question ?? '')}</p>`);
  if (story.summary) {
    await put('000_global_cot.txt', story.summary);
    html.push(`<details class="cot"><summary>Global reasoning</summary><pre>${escapeHtml(story.summary)}</pre></details>`);
  }
  for (const [i, ref] of story.referenceImages.entries()) {
    const name = `${pad(i, 3)}_reference_image.png`;
    if (ref.image?.imageData) await put(name, ref.image.imageData);
    html.push(`<figure class="reference"><img src="${escapeHtml(name)}" alt="reference ${i}"><figcaption>reference ${i}</figcaption></figure>`);
  }
  let idx = story.referenceImages.length || 1;
  for (const clip of story.clips) {
    html.push('<section class="clip">');
    const seg = clip.segments[0];
    if (seg?.asr) {
      await put(`${pad(idx, 3)}_text.txt`, seg.asr);
      html.push(`<p class="text">${escapeHtml(seg.asr)}</p>`);
    }
    for (const [j, meta] of (seg?.images ?? []).entries()) html.push(await writeImage(meta, `${pad(idx, 3)}_${pad(j, 2)}`, put));
    html.push('</section>');
    idx++;
  }
  for (const [name, text] of Object.entries(input.notes ?? {})) await put(path.basename(name), text);
  await put(PROTO_NAME, await encodeStory(story));
  await put(HTML_NAME, page(story, html));
  return files;
}

async function writeImage(meta: StoryImageMeta, stem: string, put: (name: string, data: string | Uint8Array) => Promise<void>): Promise<string> {
  const parts: string[] = [];
  if (meta.chainOfThought) {
    await put(`${stem}_image_cot.txt`, meta.chainOfThought);
    parts.push(`<details class="cot"><summary>Image reasoning</summary><pre>${escapeHtml(meta.chainOfThought)}</pre></details>`);
  }
  if (meta.image?.imageData) {
    await put(`${stem}_image.png`, meta.image.imageData);
    parts.push(`<figure><img src="${stem}_image.png" alt="image ${stem}"></figure>`);
  } else {
    const codes = codesOf(meta);
    if (codes) {
      await put(`${stem}_image_codes.json`, JSON.stringify(codes));
      parts.push(`<p class="codes">image ${codes.grid.rows}×${codes.grid.cols} tokens (not decoded): <a href="${stem}_image_codes.json">codes</a></p>`);
    }
  }
  return parts.join('\n');
}

function page(story: Story, body: string[]): string {
  const title = escapeHtml((story.question ?? 'Emu result').slice(0, 80));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
img { max-width: 100%; height: auto; }
.text { white-space: pre-wrap; }
.clip { border-top: 1px solid #ccc; padding-top: 1rem; }
pre { white-space: pre-wrap; background: #f6f6f6; padding: .5rem; }
.note { border: 2px solid #b00; padding: .5rem; white-space: pre-wrap; }
</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
