import type { GraphBuilder } from './GraphBuilder.ts';

const NEG_INF = -1e9;

/** Optional per-query mask inputs: `key_positions` [B,T] against `position_ids` [B,S]. */
export interface KeyPositionInputs {
  keyPositions: string;
  positionIds: string;
}

/**
 * The decoder-with-past's additive attention mask, fp32 [B,1,1,S,T] for scores [B,Hkv,G,S,T]: new
 * token j (cache slot P+j, P read from the past key's shape) sees slots ≤ P+j whose attention_mask is 1
 * and, given `keyPositions`, whose position id is ≤ its own (raster order kept when slots are filled out
 * of order; with positions = slots it is the same causal mask).
 */
export function attentionBias(g: GraphBuilder, ids: string, mask: string, pastKey: string, positions?: KeyPositionInputs): string {
  const S = g.op('Gather', [g.op('Shape', [ids]), g.scalar('int64', 1)], { axis: { int: 0 } });
  const P = g.op('Gather', [g.op('Shape', [pastKey]), g.scalar('int64', 2)], { axis: { int: 0 } });
  const T = g.op('Add', [P, S]);
  const one = g.scalar('int64', 1);
  const rows = g.op('Unsqueeze', [g.op('Range', [P, T, one]), g.int64('axis', [1], [1])]);
  const cols = g.op('Range', [g.scalar('int64', 0), T, one]);
  const causal = g.op('LessOrEqual', [cols, rows]);
  const visible = g.op('Unsqueeze', [g.op('Cast', [mask], { to: { int: 9 } }), g.int64('axes', [3], [1, 2, 3])]);
  let allowed = g.op('And', [causal, visible]);
  if (positions) {
    // [B,1,T] ≤ [B,S,1] → [B,S,T], then [B,1,1,S,T].
    const keys = g.op('Unsqueeze', [positions.keyPositions, g.int64('axis', [1], [1])]);
    const queries = g.op('Unsqueeze', [positions.positionIds, g.int64('axis', [1], [2])]);
    const order = g.op('Unsqueeze', [g.op('LessOrEqual', [keys, queries]), g.int64('axes', [2], [1, 2])]);
    allowed = g.op('And', [allowed, order]);
  }
  return g.op('Where', [allowed, g.scalar('float32', 0), g.scalar('float32', NEG_INF)]);
}
