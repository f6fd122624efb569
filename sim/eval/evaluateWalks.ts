import { lastValueFrom, toArray } from 'rxjs';
import type { EmuBackend } from '../../sdk/EmuBackend.ts';
import { InputError } from '../../sdk/errors.ts';
import type { OutputItem } from '../../sdk/generation/GenerationEvent.ts';
import { Prng } from '../world/Prng.ts';
import { renderLayout } from '../render/renderLayout.ts';
import type { Split } from '../tasks/generateScene.ts';
import { CAMERA_MOVES, EXPLORE_INSTRUCTION, makeTaskExample } from '../tasks/taskExamples.ts';
import { judgeTaskOutput } from './judgeTaskOutput.ts';

export interface WalkEvalOptions {
  /** `free`: the model chooses its moves (empty user turns); `interactive`: scripted camera commands. */
  mode: 'free' | 'interactive';
  walks: number;
  steps: number;
  split?: Split;
  seed?: number;
  /** Where the session places commands; default the model's manifest. */
  placement?: 'user' | 'answer';
  /** Per step (a single-turn explore answer takes 2–5 views, about 80 tokens each). @default 400 */
  maxNewTokens?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface WalkResult {
  seed: number;
  steps: number;
  /** Views judged (interactive: the first view of each step; free: every view). */
  views: number;
  agreeing: number;
  /** Steps that produced no view at all. */
  empty: number;
  dropped: number;
}

/**
 * Spatial consistency of long exploration sessions, judged by the simulator: every view must be
 * the previous one shifted by the camera move (two slots), on the part that stays in sight
 * (judgeTaskOutput's explore rule). Held-out worlds as in `emu sim eval`; sessions keep their
 * context (drop-oldest past the model's context).
 */
export async function evaluateWalks(backend: EmuBackend, options: WalkEvalOptions): Promise<{ results: WalkResult[]; consistency: number }> {
  if (!backend.openSession) throw new InputError('input_invalid', `backend '${backend.modelName}' has no sessions`);
  const results: WalkResult[] = [];
  for (let w = 0; w < options.walks; w++) {
    const seed = (options.seed ?? 0) + w;
    const example = makeTaskExample('explore', options.split ?? 'heldout', seed);
    // Free walks carry the task's instruction as the session's standing prompt; every step is empty (the model's move).
    const prompt = options.mode === 'free' ? EXPLORE_INSTRUCTION : '';
    const session = await backend.openSession({ task: 'explore', images: [renderLayout(example.inputs[0]!)], prompt, seed, ...(options.placement ? { placement: options.placement } : {}), sampling: { maxNewTokens: options.maxNewTokens ?? 400 }, contextFull: 'drop-oldest' });
    const rng = Prng.from('walk', options.mode, seed);
    const judged: OutputItem[] = [];
    let empty = 0;
    for (let k = 0; k < options.steps; k++) {
      const command = options.mode === 'interactive' ? rng.pick(CAMERA_MOVES).text : '';
      const events = await lastValueFrom(session.step(command).pipe(toArray())).catch(() => []);
      const done = events.at(-1);
      const output = done?.type === 'done' ? done.output.filter((o) => o.type === 'text' || o.type === 'image') : [];
      const views = output.filter((o) => o.type === 'image');
      if (views.length === 0) {
        empty++;
        continue;
      }
      // Interactive: the user's command says where the camera went; free: the model's own words do.
      if (options.mode === 'interactive') judged.push({ type: 'text', text: command }, views[0]!);
      else {
        // Each view with the text just before it (its camera move); a step cut off mid-text adds nothing.
        let text: string | undefined;
        for (const o of output) {
          if (o.type === 'text') text = o.text;
          else if (text !== undefined) {
            judged.push({ type: 'text', text }, o);
            text = undefined;
          }
        }
      }
    }
    const j = judgeTaskOutput('explore', example, judged);
    results.push({ seed, steps: options.steps, views: j.images, agreeing: j.imagesAgreeing, empty, dropped: session.dropped });
    session.close();
    options.onProgress?.(w + 1, options.walks);
  }
  const views = results.reduce((s, r) => s + r.views + r.empty, 0);
  return { results, consistency: views ? results.reduce((s, r) => s + r.agreeing, 0) / views : 0 };
}
