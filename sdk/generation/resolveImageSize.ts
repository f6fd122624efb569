import { InputError } from '../errors.ts';
import type { Grid } from './GenerationEvent.ts';
import type { GrammarIds } from './GrammarIds.ts';
import { lastHeaderGrid } from './headerGrid.ts';
import { imageTokenCount } from '../prompt/imageTokens.ts';

export interface ImageSizeInputs {
  /** Explicit [rows, cols] from the request. */
  grid?: readonly [number, number];
  /** Aspect name from the request, else the task's default; `auto` means none. */
  aspect?: string;
  aspectPresets: Record<string, readonly [number, number]>;
  /** Unconditional prompt ids: its last image header is the last reference's grid. */
  uncondIds: readonly number[];
  ids: GrammarIds;
  /** Positions the context leaves after the prompt: a grid whose image cannot fit there is refused. @default Infinity */
  room?: number;
}

/**
 * §5.4 precedence: explicit grid > aspect preset > last reference image's grid > (undefined: the first
 * generated image's size, sampled with the auto mask, then reused). A grid whose image cannot fit in
 * `room` is `context_overflow` here, before any work, rather than a generation that is sure to be cut off.
 */
export function resolveImageSize(inp: ImageSizeInputs): Grid | undefined {
  const grid = pickGrid(inp);
  const room = inp.room ?? Infinity;
  if (grid && imageTokenCount(grid) > room) {
    throw new InputError(
      'context_overflow',
      `a ${grid.rows}×${grid.cols} image is ${imageTokenCount(grid)} tokens, but the context leaves ${room} after the prompt; ask for a smaller grid or a shorter prompt`,
    );
  }
  return grid;
}

function pickGrid(inp: ImageSizeInputs): Grid | undefined {
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
