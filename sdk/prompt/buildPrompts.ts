import type { ModelManifest, TaskName } from '../model/ModelManifest.ts';
import type { TiktokenTokenizer } from '../tokenizer/TiktokenTokenizer.ts';
import { InputError } from '../errors.ts';
import { imageTokenIds } from './imageTokens.ts';

export interface PromptImage {
  rows: number;
  cols: number;
  /** codebook indices, row-major */
  codes: readonly number[];
}

export interface BuildPromptsArgs {
  manifest: ModelManifest;
  tokenizer: TiktokenTokenizer;
  task: TaskName;
  question: string;
  images: PromptImage[];
  /**
   * Parse special-token names (`<|image start|>`, visual tokens…) inside the question. Off by default:
   * only the templates insert special tokens, so user text cannot forge prompt structure.
   */
  allowSpecialTokens?: boolean;
}

const IMAGES = '{images}';
const FIELD = /\{(task|extra|question)\}/g;

/**
 * The conditional prompt and its CFG negative for one request, as ids. Templates come from the manifest;
 * `{task}`, `{extra}`, `{question}` are filled in one pass (so a question containing `{task}` stays literal),
 * and `{images}` becomes the image ids directly, never a text round-trip.
 * The unconditional prompt keeps the images and drops the text (`unconditional_type="no_text"`).
 */
export function buildPrompts(args: BuildPromptsArgs): { cond: number[]; uncond: number[] } {
  const { manifest, tokenizer, task, question, images } = args;
  const config = manifest.tasks[task];
  if (!config) {
    const known = Object.keys(manifest.tasks).join(', ');
    throw new InputError('unknown_task', `Task '${task}' is not configured in model '${manifest.name}' (configured: ${known})`);
  }
  const { ids, visualOffset } = manifest.vocab;
  const imageIds = images.flatMap((im) => imageTokenIds(tokenizer, ids, visualOffset, im, im.codes));
  const values: Record<string, string> = { task, extra: config.extra, question };
  const userFields = args.allowSpecialTokens ? new Set<string>() : new Set(['question']);
  const fill = (template: string) => renderTemplate(tokenizer, template, values, imageIds, userFields);
  return {
    cond: fill(config.conditional),
    uncond: fill(images.length > 0 ? config.unconditional : config.unconditionalNoImage),
  };
}

function renderTemplate(tok: TiktokenTokenizer, template: string, values: Record<string, string>, imageIds: number[], userFields: Set<string>): number[] {
  const out: number[] = [];
  template.split(IMAGES).forEach((part, i) => {
    if (i > 0) appendAll(out, imageIds);
    const nfc = (x: string) => (tok.normalizesNfc ? x.normalize('NFC') : x);
    const spans: [number, number][] = [];
    let text = '';
    let last = 0;
    for (const m of part.matchAll(FIELD)) {
      text += nfc(part.slice(last, m.index));
      const value = nfc(values[m[1]!] ?? '');
      if (userFields.has(m[1]!)) spans.push([text.length, text.length + value.length]);
      text += value;
      last = m.index + m[0].length;
    }
    text += nfc(part.slice(last));
    appendAll(out, tok.encode(text, { ordinarySpans: spans }));
  });
  return out;
}

/** `out.push(...xs)` without spreading: a huge prompt must not overflow the call stack. */
function appendAll(out: number[], xs: readonly number[]): void {
  for (const x of xs) out.push(x);
}
