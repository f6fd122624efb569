/**
 * `npx tsx training/sharedTables.ts`: writes training/nano/shared_tables.json, the simulator's
 * constants the Python toolchain needs (explore's camera moves, world and view sizes, instruction),
 * from the TypeScript that defines them. Python loads the JSON and defines none of them itself; a
 * test fails when the committed file is not what this script writes now.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CAMERA_MOVES, EXPLORE_INSTRUCTION, EXPLORE_VIEW, EXPLORE_WORLD } from '../sim/tasks/taskExamples.ts';

export const SHARED_TABLES_FILE = fileURLToPath(new URL('./nano/shared_tables.json', import.meta.url));

export function sharedTables(): string {
  const tables = {
    generatedBy: 'training/sharedTables.ts (npx tsx training/sharedTables.ts); do not edit',
    explore: {
      world: EXPLORE_WORLD,
      view: EXPLORE_VIEW,
      instruction: EXPLORE_INSTRUCTION,
      moves: CAMERA_MOVES.map((m) => [m.text, m.dr, m.dc]),
    },
  };
  return `${JSON.stringify(tables, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(SHARED_TABLES_FILE, sharedTables());
  console.log(SHARED_TABLES_FILE);
}
