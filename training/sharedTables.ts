/**
 * `npx tsx training/sharedTables.ts`: writes training/nano/shared_tables.json, what the Python
 * toolchain shares with the TypeScript, from the TypeScript that defines it: the simulator's explore
 * constants (camera moves, world and view sizes, instruction; sim/tasks/taskExamples.ts) and the
 * toolchain's file layout (training/paths.ts). Python loads the JSON and defines none of them itself
 * (training/nano/worlds.py, training/nano/paths.py); a test fails when the committed file is not
 * what this script writes now.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CAMERA_MOVES, EXPLORE_INSTRUCTION, EXPLORE_STEPS, EXPLORE_VIEW, EXPLORE_WORLD } from '../sim/tasks/taskExamples.ts';
import { TRAINING_LAYOUT } from './paths.ts';

export const SHARED_TABLES_FILE = fileURLToPath(new URL('./nano/shared_tables.json', import.meta.url));

export function sharedTables(): string {
  const tables = {
    generatedBy: 'training/sharedTables.ts (npx tsx training/sharedTables.ts); do not edit',
    explore: {
      world: EXPLORE_WORLD,
      view: EXPLORE_VIEW,
      instruction: EXPLORE_INSTRUCTION,
      steps: [EXPLORE_STEPS.min, EXPLORE_STEPS.max],
      moves: CAMERA_MOVES.map((m) => [m.text, m.dr, m.dc]),
    },
    // repo-relative, `/`-separated; training/nano/paths.py resolves them from its own location
    paths: TRAINING_LAYOUT,
  };
  return `${JSON.stringify(tables, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(SHARED_TABLES_FILE, sharedTables());
  console.log(SHARED_TABLES_FILE);
}
