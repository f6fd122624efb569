import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { InputError } from '../errors.ts';

/**
 * The released decoder's `config.json` (the official `Emu3Config`): every shape the converter uses
 * comes from here, never from defaults, so a checkpoint with other sizes converts as it is.
 */
export const Emu3ConfigSchema = z
  .object({
    vocab_size: z.number().int().positive(),
    hidden_size: z.number().int().positive(),
    intermediate_size: z.number().int().positive(),
    num_hidden_layers: z.number().int().positive(),
    num_attention_heads: z.number().int().positive(),
    // Absent keys take the official Emu3Config defaults (8 KV heads, head_dim 128; a null KV count
    // means one per query head), exactly as the official module would read the same file.
    num_key_value_heads: z.number().int().positive().nullable().default(8),
    head_dim: z.number().int().positive().default(128),
    hidden_act: z.literal('silu').default('silu'),
    max_position_embeddings: z.number().int().positive(),
    rms_norm_eps: z.number().positive(),
    rope_theta: z.number().positive(),
    rope_scaling: z
      .object({ type: z.enum(['linear', 'dynamic']), factor: z.number().gt(1) })
      .nullable()
      .default(null),
    tie_word_embeddings: z.boolean().default(false),
    pretraining_tp: z.number().int().positive().default(1),
    torch_dtype: z.string().optional(),
  })
  .loose()
  .transform((c, ctx) => {
    const kvHeads = c.num_key_value_heads ?? c.num_attention_heads;
    const headDim = c.head_dim;
    if (c.num_attention_heads % kvHeads !== 0) ctx.addIssue({ code: 'custom', message: `num_attention_heads ${c.num_attention_heads} is not a multiple of num_key_value_heads ${kvHeads}` });
    if (headDim % 2 !== 0) ctx.addIssue({ code: 'custom', message: `head_dim ${headDim} must be even for RoPE` });
    return { ...c, num_key_value_heads: kvHeads, head_dim: headDim };
  });
export type Emu3Config = z.infer<typeof Emu3ConfigSchema>;

export function readEmu3Config(dir: string): Emu3Config {
  const file = path.join(dir, 'config.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InputError('input_invalid', `cannot read ${file}: ${(err as Error).message}`);
  }
  const parsed = Emu3ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new InputError('input_invalid', `${file} is not an Emu3Config: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`).join('; ')}`);
  }
  const config = parsed.data;
  // Dynamic NTK rescales RoPE from the sequence length the official module has cached so far (state
  // carried across calls), which a stateless graph cannot reproduce; refuse rather than diverge.
  if (config.rope_scaling?.type === 'dynamic') throw new InputError('input_invalid', `${file}: rope_scaling type "dynamic" is not supported by the converter (only none and "linear")`);
  return config;
}

/** The checkpoint tensor names the official modules define. */
export const emu3Names = {
  embed: 'model.embed_tokens.weight',
  norm: 'model.norm.weight',
  lmHead: 'lm_head.weight',
  layer: (i: number) => ({
    q: `model.layers.${i}.self_attn.q_proj.weight`,
    k: `model.layers.${i}.self_attn.k_proj.weight`,
    v: `model.layers.${i}.self_attn.v_proj.weight`,
    o: `model.layers.${i}.self_attn.o_proj.weight`,
    qNorm: `model.layers.${i}.self_attn.q_norm.weight`,
    kNorm: `model.layers.${i}.self_attn.k_norm.weight`,
    gate: `model.layers.${i}.mlp.gate_proj.weight`,
    up: `model.layers.${i}.mlp.up_proj.weight`,
    down: `model.layers.${i}.mlp.down_proj.weight`,
    inputNorm: `model.layers.${i}.input_layernorm.weight`,
    postNorm: `model.layers.${i}.post_attention_layernorm.weight`,
  }),
};
