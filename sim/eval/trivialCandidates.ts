import type { RgbImage } from '../../sdk/image/RgbImage.ts';
import { perceiveLayout } from '../perception/perceiveLayout.ts';
import { describeSubgoal } from '../skills/describeSubgoal.ts';
import { RELATIONS, type Action } from '../skills/Action.ts';
import { blocksOn, bowlsOn } from '../world/Layout.ts';

/** Every canonical subgoal over the objects perceived in a frame (the trivial planner draws one). */
export function trivialCandidates(frame: RgbImage): string[] {
  const layout = perceiveLayout(frame);
  const blocks = blocksOn(layout);
  const bowls = bowlsOn(layout);
  const actions: Action[] = [];
  for (const block of blocks) {
    for (const bowl of bowls) actions.push({ kind: 'place', block, bowl });
    for (const onto of blocks) if (onto !== block) actions.push({ kind: 'stack', block, onto });
    for (const relation of RELATIONS) {
      for (const colour of bowls) actions.push({ kind: 'move', block, relation, ref: { type: 'bowl', colour } });
    }
  }
  return actions.map(describeSubgoal);
}
