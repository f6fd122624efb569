import { InputError } from '../errors.ts';
import type { Grid } from './GenerationEvent.ts';
import type { GrammarIds } from './GrammarIds.ts';
import { lastHeaderGrid } from './headerGrid.ts';

export interface ImageSizeInputs {
  /** Explicit [rows, cols] from the request. */
  grid?: readonly [number, number];
  /** Aspect name from the request, else the task's default; `auto` means none. */
  aspect?: string;
  aspectPresets: Record<string, readonly [number, number]>;
  /** Unconditional prompt ids: its last image header is the last reference's grid. */
  uncondIds: readonly number[];
  ids: GrammarIds;
}

/**
 * §5.4 precedence: explicit grid > aspect preset > last reference image's grid > (undefined: the first
 * generated image's size, sampled with the auto mask, then reused).
 */
export function resolveImageSize(inp: ImageSizeInputs): Grid | undefined {
  if (inp.grid) return { rows: inp.grid[0], cols: inp.grid[1] };
  if (inp.aspect && inp.aspect !== 'auto') {
    const preset = inp.aspectPresets[inp.aspect];
    if (!preset) {
      throw new InputError('input_invalid', `unknown aspect '${inp.aspect}'; known: ${[...Object.keys(inp.aspectPresets), 'auto'].join(', ')}`);
    }
    return { rows: preset[0], cols: preset[1] };
  }
  return lastHeaderGrid(inp.uncondIds, inp.ids);
}
