import type { GraphBuilder } from './GraphBuilder.ts';

const NEG_INF = -1e9;

/**
 * The decoder-with-past's additive attention mask, fp32 [B,1,1,S,T] for scores [B,Hkv,G,S,T]: new
 * token j (cache slot P+j, P read from the past key's shape) sees slots ≤ P+j whose attention_mask is 1.
 */
export function attentionBias(g: GraphBuilder, ids: string, mask: string, pastKey: string): string {
  const S = g.op('Gather', [g.op('Shape', [ids]), g.scalar('int64', 1)], { axis: { int: 0 } });
  const P = g.op('Gather', [g.op('Shape', [pastKey]), g.scalar('int64', 2)], { axis: { int: 0 } });
  const T = g.op('Add', [P, S]);
  const one = g.scalar('int64', 1);
  const rows = g.op('Unsqueeze', [g.op('Range', [P, T, one]), g.int64('axis', [1], [1])]);
  const cols = g.op('Range', [g.scalar('int64', 0), T, one]);
  const causal = g.op('LessOrEqual', [cols, rows]);
  const visible = g.op('Unsqueeze', [g.op('Cast', [mask], { to: { int: 9 } }), g.int64('axes', [3], [1, 2, 3])]);
  return g.op('Where', [g.op('And', [causal, visible]), g.scalar('float32', 0), g.scalar('float32', NEG_INF)]);
}
