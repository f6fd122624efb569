/**
 * `emu <command> …`: dispatches to each part's CLI module, imported lazily so that e.g.
 * `emu tokenize` never loads onnxruntime or the simulator.
 */
type CommandModule = { run(argv: string[]): Promise<number> };

/**
 * onnxruntime-node reads `/proc/self/cmdline` when it loads and crashes the process (SIGSEGV) on a
 * command line of about 28 KB or more (measured: 24 KB runs, 29 KB crashes). Commands that load it
 * refuse a long command line before anything is imported; long text goes through a file or stdin.
 */
export const MAX_ARGV_BYTES = 16 * 1024;

const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule>; onnx?: true }> = {
  generate: { summary: 'run a task (t2i, x2i, story, howto, explore, vla) on a model folder', load: () => import('./cli/generateCommand.ts'), onnx: true },
  tokenize: { summary: 'print the token ids of a text for a tiktoken ranks file', load: () => import('./cli/tokenizeCommand.ts') },
  prompt: { summary: 'print the conditional/unconditional prompt ids for a task', load: () => import('./cli/promptCommand.ts') },
  sim: { summary: 'simulator: `emu sim eval …`, `emu sim export …`', load: () => import('./cli/simCommand.ts'), onnx: true },
  bridge: { summary: 'run the planning bridge over ros|mcap|memory transports', load: () => import('./cli/bridgeCommand.ts'), onnx: true },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: emu <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun \`emu <command> --help\` for a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(usage());
    return name ? 0 : 1;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`emu: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const argvBytes = Buffer.byteLength(argv.join(' '));
  if (command.onnx && argvBytes > MAX_ARGV_BYTES) {
    console.error(
      `emu ${name}: [input_invalid] the command line is ${(argvBytes / 1024).toFixed(1)} KB, over the ${MAX_ARGV_BYTES / 1024} KB this command accepts ` +
        `(onnxruntime crashes on long command lines); pass long text with --prompt-file FILE, or --prompt-file - to read stdin`,
    );
    return 2;
  }
  try {
    return await (await command.load()).run(rest);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    console.error(`emu ${name}: ${e.code ? `[${e.code}] ` : ''}${e.message ?? String(err)}`);
    if (process.env.EMU_DEBUG) console.error(err);
    return 1;
  }
}
