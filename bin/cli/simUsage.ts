/** `emu sim` usage, shared by its subcommands. */
export const USAGE = `usage:
  emu sim export --task vla|t2i|x2i|story|howto|explore --split train|heldout --count N
                 [--seed S] [--size 128|WxH] [--out DIR] [--workers K] [--physics] [--no-layouts]
  emu sim eval --planner oracle|trivial|emu[:MODEL_DIR] --suite spatial|object|goal|long|all
               --split heldout|train --episodes N [--seed S] [--workers K] [--out DIR]
               [--planner-module PATH] [--replans R (default: the closed loop's policy)] [--no-physics]
  emu sim eval --model DIR | --backend ws://HOST:PORT|nats://HOST:PORT  [same options]
               the emu planner on that model folder or remote engine (token: EMU_TOKEN)

--out DIR is checked before any work. Each run writes a fresh folder and renames it into place, so
an earlier emu output in DIR is replaced whole (no stale files); a folder holding anything else is
refused. Ctrl-C during an export stops after the chunks in progress and keeps them: meta.json says
"partial": true with the real count, and the exit code is 130 (a second Ctrl-C quits at once).`;
