/** Object colours, in the fixed canonical order the oracle uses (red, green, blue, yellow, purple, orange). */
export const BLOCK_COLOURS = ['red', 'green', 'blue', 'yellow', 'purple', 'orange'] as const;
export type BlockColour = (typeof BLOCK_COLOURS)[number];

export const BOWL_COLOURS = ['red', 'green', 'blue'] as const;
export type BowlColour = (typeof BOWL_COLOURS)[number];

export type Rgb = readonly [number, number, number];

/** Same RGB for a block and a bowl of the same name: position in the patch tells them apart. */
export const PALETTE: Record<BlockColour, Rgb> = {
  red: [220, 40, 40],
  green: [40, 170, 60],
  blue: [40, 80, 220],
  yellow: [240, 220, 40],
  purple: [140, 60, 180],
  orange: [245, 140, 20],
};

export const TABLE_RGB: Rgb = [200, 190, 175];
/** Letterbox border outside the table, for non-square frames. */
export const BORDER_RGB: Rgb = [40, 40, 40];

export function colourRank(colour: BlockColour): number {
  return BLOCK_COLOURS.indexOf(colour);
}

export function isBlockColour(s: string): s is BlockColour {
  return (BLOCK_COLOURS as readonly string[]).includes(s);
}

export function isBowlColour(s: string): s is BowlColour {
  return (BOWL_COLOURS as readonly string[]).includes(s);
}
