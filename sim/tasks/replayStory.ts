import { narrateSubgoal } from '../skills/describeSubgoal.ts';
import { parseNarration } from '../skills/parseNarration.ts';
import { parseSubgoal } from '../skills/parseSubgoal.ts';
import { resolveAction } from '../skills/resolveAction.ts';
import { layoutsEqual, moveTopBlock, type Layout } from '../world/Layout.ts';
import { Prng } from '../world/Prng.ts';
import { describeScene } from './describeScene.ts';
import { splitOf } from './generateScene.ts';
import { randomLegalAction, type ExampleItem } from './taskExamples.ts';

export interface StoryReplay {
  /** The story with the simulator's frames: opening text and scene, then each narration and the true state after it. */
  output: ExampleItem[];
  /** Narrations impossible (or no-ops) in the true previous state, replaced by a random legal action. */
  replaced: number;
  /** The model's images that are not the true state after its narration (earlier mistakes carried along count too). */
  imagesNotTrue: number;
}

/** Why a generated story cannot be replayed. */
export type ReplaySkip = 'not text/image pairs' | 'opening image is not the described scene' | 'held-out opening' | 'no legal action';

/**
 * A generated story (its texts, and the layouts perceived in its images) replayed through the simulator:
 * the opening scene where its image shows what its text describes, each narrated action applied to the
 * true previous state, and the true state after it as the frame. A narration the true state makes
 * impossible becomes a random legal action (deterministic per `seed`). Openings in the held-out split
 * are refused, so training on replays keeps held-out scenes unseen.
 */
export function replayStory(texts: readonly string[], layouts: readonly Layout[], seed: number): StoryReplay | ReplaySkip {
  if (texts.length < 2 || texts.length !== layouts.length) return 'not text/image pairs';
  const scene = layouts[0]!;
  if (describeScene(scene) !== texts[0]) return 'opening image is not the described scene';
  if (splitOf(scene) === 'heldout') return 'held-out opening';
  const rng = Prng.from('replay', seed);
  const output: ExampleItem[] = [
    { type: 'text', text: texts[0]! },
    { type: 'image', layout: scene },
  ];
  let state = scene;
  let replaced = 0;
  let imagesNotTrue = 0;
  for (let k = 1; k < texts.length; k++) {
    const action = parseSubgoal(parseNarration(texts[k]!).subgoal);
    const plan = action ? resolveAction(state, action) : null;
    let text = texts[k]!;
    let next: Layout;
    if (plan?.ok && !plan.noop) next = moveTopBlock(state, plan.from, plan.to);
    else {
      const legal = randomLegalAction(rng, state);
      if (!legal) return 'no legal action';
      [text, next] = [narrateSubgoal(legal.action), legal.layout];
      replaced++;
    }
    if (!layoutsEqual(next, layouts[k]!)) imagesNotTrue++;
    output.push({ type: 'text', text }, { type: 'image', layout: next });
    state = next;
  }
  return { output, replaced, imagesNotTrue };
}
