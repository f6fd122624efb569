import type { OutputItem } from '../../sdk/generation/GenerationEvent.ts';
import type { RgbImage } from '../../sdk/image/RgbImage.ts';
import { perceiveLayout } from '../perception/perceiveLayout.ts';
import { parseNarration, type NarratedAction } from '../skills/parseNarration.ts';
import { parseSubgoal } from '../skills/parseSubgoal.ts';
import { resolveAction } from '../skills/resolveAction.ts';
import { describeScene } from '../tasks/describeScene.ts';
import { CAMERA_MOVES, type ExportTask, type TaskExample } from '../tasks/taskExamples.ts';
import type { Action } from '../skills/Action.ts';
import { cellKey, moveTopBlock, type Layout, type Slot } from '../world/Layout.ts';

/** How one generated output reads against the world: its shape, and whether each image shows what its text says. */
export interface TaskJudgement {
  /** The output has the task's shape (t2i/x2i: one image; interleaved: text/image pairs, at least one). */
  wellFormed: boolean;
  images: number;
  /** Images whose perceived layout is what the text (or, for t2i/x2i, the instruction) implies. */
  imagesAgreeing: number;
  /** Per image: agrees, why not when it does not, and how many of its slots differ from what the judge expects. */
  details: ImageVerdict[];
}

export interface ImageVerdict {
  agrees: boolean;
  why?: string;
  /** Slots that differ from the target (t2i/x2i: of 64; explore: of the slots that stay in view). */
  slotsWrong?: number;
  /** What the image was asked to show, where images of one output differ (explore: the camera command; story/howto: the action). */
  kind?: string;
  /** story/howto, when the image is not the state after the action: where it differs from that state. */
  wrongAt?: ActionSlotRole[];
}

/** The slots an action touches (the block's source and destination), and all the others. */
export type ActionSlotRole = 'source' | 'destination' | 'elsewhere';

type Pair = { text: string; image: RgbImage };

/**
 * Judges a generated output for a non-VLA task with the simulator's perception and skill semantics:
 * - t2i / x2i: the one image's layout equals the layout the instruction describes (the example's target);
 * - story: the opening image is the scene its text describes; each later image is the previous one
 *   after the narrated action;
 * - howto: each step's image is the previous state (the input frame first) after that step's subgoal;
 * - explore: after "look left/right/up/down" the part of the view that stays in sight has shifted by two slots.
 */
export function judgeTaskOutput(task: Exclude<ExportTask, 'vla'>, example: TaskExample, output: readonly OutputItem[]): TaskJudgement {
  const items = output.filter((o) => o.type === 'text' || o.type === 'image');
  const images = items.filter((o): o is Extract<OutputItem, { type: 'image' }> => o.type === 'image');
  if (task === 't2i' || task === 'x2i') {
    const target = example.output.find((o) => o.type === 'image');
    const details = images.map((im) => single(im.image, target?.type === 'image' ? target.layout : undefined));
    return summarise(images.length === 1 && details.length === 1, details);
  }
  const pairs = toPairs(items);
  const details = pairs ? judgeSequence(task, example, pairs) : images.map(() => ({ agrees: false, why: 'not text/image pairs' }));
  return summarise(!!pairs && pairs.length > 0, details);
}

function summarise(wellFormed: boolean, details: TaskJudgement['details']): TaskJudgement {
  return { wellFormed, images: details.length, imagesAgreeing: details.filter((d) => d.agrees).length, details };
}

function single(image: RgbImage | undefined, target: Layout | undefined): ImageVerdict {
  if (!image || !target) return { agrees: false, why: 'no decoded image' };
  const seen = perceiveLayout(image);
  const slotsWrong = differingSlots(target, seen).length;
  return slotsWrong === 0 ? { agrees: true, slotsWrong } : { agrees: false, why: 'layout differs from the instruction', slotsWrong };
}

/** Interleaved outputs as (text, image) pairs, or null when they do not alternate text → image. */
function toPairs(items: readonly OutputItem[]): Pair[] | null {
  const pairs: Pair[] = [];
  for (let i = 0; i < items.length; i += 2) {
    const text = items[i];
    const image = items[i + 1];
    if (text?.type !== 'text' || image?.type !== 'image' || !image.image) return null;
    pairs.push({ text: text.text.trim(), image: image.image });
  }
  return pairs;
}

function judgeSequence(task: 'story' | 'howto' | 'explore', example: TaskExample, pairs: Pair[]): TaskJudgement['details'] {
  let previous: Layout | undefined = example.inputs[0];
  return pairs.map(({ text, image }, k) => {
    const seen = perceiveLayout(image);
    const verdict =
      task === 'explore'
        ? judgeLook(text, previous, seen)
        : task === 'story' && k === 0
          ? describeScene(seen) === text
            ? { agrees: true, kind: 'opening' }
            : { agrees: false, why: 'opening image is not the described scene', kind: 'opening' }
          : judgeAction(task === 'story' ? parseNarration(text) : { subgoal: fromStep(text) }, previous, seen);
    previous = seen;
    return verdict;
  });
}

function judgeAction({ subgoal, to }: NarratedAction, before: Layout | undefined, seen: Layout): ImageVerdict {
  const action = parseSubgoal(subgoal);
  if (!action) return { agrees: false, why: `text is not a known action: "${subgoal.slice(0, 60)}"` };
  const kind = actionKind(action);
  if (!before) return { agrees: false, why: 'no previous state', kind };
  const plan = resolveAction(before, action);
  if (!plan.ok) return { agrees: false, why: `action impossible in the previous image: ${plan.reason}`, kind };
  if (to && !sameSlot(to, plan.to)) return { agrees: false, why: `the text names row ${to.r} column ${to.c}, but the action lands on row ${plan.to.r} column ${plan.to.c}`, kind };
  const after = plan.noop ? before : moveTopBlock(before, plan.from, plan.to);
  const wrong = differingSlots(after, seen);
  if (wrong.length === 0) return { agrees: true, slotsWrong: 0, kind };
  const roleOf = (s: Slot): ActionSlotRole => (sameSlot(s, plan.from) ? 'source' : sameSlot(s, plan.to) ? 'destination' : 'elsewhere');
  const wrongAt = (['source', 'destination', 'elsewhere'] as const).filter((role) => wrong.some((s) => roleOf(s) === role));
  return { agrees: false, why: 'image is not the state after the action', slotsWrong: wrong.length, kind, wrongAt };
}

/** "place", "stack", or "move left of block" …: the action's verb, and for moves the relation and what it is relative to. */
export function actionKind(action: Action): string {
  return action.kind === 'move' ? `move ${action.relation} ${action.relation === 'left' || action.relation === 'right' ? 'of ' : ''}${action.ref.type}` : action.kind;
}

function differingSlots(expected: Layout, seen: Layout): Slot[] {
  const out: Slot[] = [];
  expected.forEach((row, r) => row.forEach((cell, c) => cellKey(cell) !== cellKey(seen[r]?.[c] ?? null) && out.push({ r, c })));
  return out;
}

function sameSlot(a: Slot, b: Slot): boolean {
  return a.r === b.r && a.c === b.c;
}

const LOOK_SHIFT = new Map(CAMERA_MOVES.map((m) => [m.text, [m.dr, m.dc] as const]));

function judgeLook(text: string, before: Layout | undefined, seen: Layout): ImageVerdict {
  const command = text.replace(/[.!]$/, '').toLowerCase();
  const shift = LOOK_SHIFT.get(command);
  if (!shift) return { agrees: false, why: `not a camera command: "${text.slice(0, 40)}"` };
  if (!before) return { agrees: false, why: 'no previous view', kind: command };
  const [dr, dc] = shift;
  let slotsWrong = 0;
  for (let r = 0; r < seen.length; r++) {
    for (let c = 0; c < seen[r]!.length; c++) {
      const br = r + dr;
      const bc = c + dc;
      if (br < 0 || bc < 0 || br >= before.length || bc >= before[0]!.length) continue;
      if (cellKey(seen[r]![c]!) !== cellKey(before[br]![bc]!)) slotsWrong++;
    }
  }
  return slotsWrong === 0
    ? { agrees: true, slotsWrong, kind: command }
    : { agrees: false, why: 'the overlapping view does not match the shift', slotsWrong, kind: command };
}

/** "step 2: put the red block in the blue bowl" → "put the red block in the blue bowl". */
function fromStep(text: string): string {
  return text.replace(/^step \d+:\s*/i, '');
}
