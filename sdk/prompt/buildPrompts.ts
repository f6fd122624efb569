import type { ModelManifest, TaskName } from '../model/ModelManifest.ts';
import type { TiktokenTokenizer } from '../tokenizer/TiktokenTokenizer.ts';
import { InputError } from '../errors.ts';
import { imageTokenCount, imageTokenIds } from './imageTokens.ts';

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
 *
 * A prompt must leave the model's context (`decoder.maxPositions`) room for one generated token, or it
 * is `context_overflow`. That is checked before the work, not after: the image grids' size is known
 * up front, and the text is encoded only as far as the context reaches (a megabyte question costs
 * what a context-full one does).
 */
export function buildPrompts(args: BuildPromptsArgs): { cond: number[]; uncond: number[] } {
  const { manifest, tokenizer, task, question, images } = args;
  const config = manifest.tasks[task];
  if (!config) {
    const known = Object.keys(manifest.tasks).join(', ');
    throw new InputError('unknown_task', `Task '${task}' is not configured in model '${manifest.name}' (configured: ${known})`);
  }
  const { ids, visualOffset } = manifest.vocab;
  const maxPositions = manifest.decoder.maxPositions;
  const limit = maxPositions - 1; // one position left for the first generated token
  const overflow = (what: string) => new InputError('context_overflow', `${what} exceeds the model's context of ${maxPositions} positions (at most ${limit} prompt tokens); shorten the question or use fewer, smaller images`);
  let imageTokens = 0;
  for (const im of images) imageTokens += imageTokenCount(im);
  if (imageTokens > limit) throw overflow(`the reference images' ${imageTokens} tokens`);
  const imageIds: number[] = [];
  for (const im of images) appendAll(imageIds, imageTokenIds(tokenizer, ids, visualOffset, im, im.codes));
  const values: Record<string, string> = { task, extra: config.extra, question };
  const userFields = args.allowSpecialTokens ? new Set<string>() : new Set(['question']);
  const fill = (template: string) => {
    const out = renderTemplate(tokenizer, template, values, imageIds, userFields, limit);
    if (!out) throw overflow(`a prompt of more than ${limit} tokens`);
    return out;
  };
  return {
    cond: fill(config.conditional),
    uncond: fill(images.length > 0 ? config.unconditional : config.unconditionalNoImage),
  };
}

/**
 * A later user turn of a multi-turn session, as ids: the conditional template from its user turn on
 * (` USER: {question}{images} ASSISTANT: <|extra_100|>`), appended after the model's previous turn.
 * Emu3.5 ships single-turn templates only; its turns are delimited the same way (BSS … ESS).
 */
export function buildTurnPrompt(args: BuildPromptsArgs & { room: number }): number[] {
  const { manifest, tokenizer, task, question, images } = args;
  const config = manifest.tasks[task];
  if (!config) throw new InputError('unknown_task', `Task '${task}' is not configured in model '${manifest.name}'`);
  const at = config.conditional.lastIndexOf(' USER:');
  if (at < 0) throw new InputError('input_invalid', `task '${task}' of model '${manifest.name}' has no user turn in its template (no ' USER:'): it cannot take more turns`);
  const { ids, visualOffset } = manifest.vocab;
  const imageIds: number[] = [];
  for (const im of images) appendAll(imageIds, imageTokenIds(tokenizer, ids, visualOffset, im, im.codes));
  const userFields = args.allowSpecialTokens ? new Set<string>() : new Set(['question']);
  const out = renderTemplate(tokenizer, config.conditional.slice(at), { task, extra: config.extra, question }, imageIds, userFields, args.room);
  if (!out) throw new InputError('context_overflow', `the next turn does not fit in the ${args.room} positions the session has left of the model's context of ${manifest.decoder.maxPositions}`);
  return out;
}

/** The template's ids, or undefined (stopping early) once they would be more than `limit`. */
function renderTemplate(tok: TiktokenTokenizer, template: string, values: Record<string, string>, imageIds: number[], userFields: Set<string>, limit: number): number[] | undefined {
  const out: number[] = [];
  for (const [i, part] of template.split(IMAGES).entries()) {
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
    const ids = tok.encodeWithin(text, limit - out.length, { ordinarySpans: spans });
    if (!ids) return undefined;
    appendAll(out, ids);
  }
  return out.length > limit ? undefined : out;
}

/** `out.push(...xs)` without spreading: a huge prompt must not overflow the call stack. */
function appendAll(out: number[], xs: readonly number[]): void {
  for (const x of xs) out.push(x);
}
