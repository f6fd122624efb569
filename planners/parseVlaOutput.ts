import type { OutputItem } from '../sdk/generation/GenerationEvent.ts';
import type { PlannedSubgoal } from './Planner.ts';

/**
 * Turns a VLA generation's parsed output into ordered subgoals.
 *
 * Rules: each text segment is paired with the image that follows it (its keyframe); text segments
 * with no image between them are joined; chain-of-thought items are ignored; trailing text with no
 * image becomes a subgoal without keyframe; text is trimmed and blank text dropped; an image with
 * no pending text (e.g. two images in a row) attaches to nothing and is skipped.
 *
 * @example
 * parseVlaOutput([{type:'text',text:' pick the cube '}, {type:'image',grid,codes,image}])
 * // → [{ instruction: 'pick the cube', keyframe: image }]
 */
export function parseVlaOutput(items: readonly OutputItem[]): PlannedSubgoal[] {
  const subgoals: PlannedSubgoal[] = [];
  let pending: string[] = [];
  for (const item of items) {
    if (item.type === 'text') {
      const text = item.text.trim();
      if (text) pending.push(text);
    } else if (item.type === 'image') {
      if (pending.length === 0) continue;
      subgoals.push(withKeyframe(pending.join(' '), item.image));
      pending = [];
    }
  }
  if (pending.length > 0) subgoals.push({ instruction: pending.join(' ') });
  return subgoals;
}

function withKeyframe(instruction: string, image: PlannedSubgoal['keyframe']): PlannedSubgoal {
  return image ? { instruction, keyframe: image } : { instruction };
}
