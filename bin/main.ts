/**
 * `emu <command> …`: dispatches to each part's CLI module, imported lazily so that e.g.
 * `emu tokenize` never loads onnxruntime or the simulator.
 */
import { InputError } from '../sdk/errors.ts'; // no imports of its own: nothing heavy loads before the checks below

type CommandModule = { run(argv: string[]): Promise<number> };

/**
 * onnxruntime-node reads `/proc/self/cmdline` when it loads and crashes the process (SIGSEGV) on a
 * command line of about 28 KB or more (measured: 24 KB runs, 29 KB crashes). Commands that load it
 * refuse a long command line before anything is imported; long text goes through a file or stdin.
 */
export const MAX_ARGV_BYTES = 16 * 1024;

/** `onnx`: the command may load onnxruntime; its value says where long text goes instead. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule>; onnx?: string }> = {
  generate: { summary: 'run a task (t2i, x2i, story, howto, explore, vla) on a model folder', load: () => import('./cli/generateCommand.ts'), onnx: 'pass long prompts with --prompt-file FILE, or --prompt-file - to read stdin' },
  tokenize: { summary: 'print the token ids of a text for a tiktoken ranks file', load: () => import('./cli/tokenizeCommand.ts') },
  prompt: { summary: 'print the conditional/unconditional prompt ids for a task', load: () => import('./cli/promptCommand.ts') },
  sim: { summary: 'simulator: `emu sim eval …`, `emu sim export …`', load: () => import('./cli/simCommand.ts'), onnx: 'keep long text out of the command line' },
  explore: { summary: 'an exploration session that keeps its context: type commands, get new views (story.pb, index.html)', load: () => import('./cli/exploreCommand.ts'), onnx: 'keep long text out of the command line (commands come from stdin)' },
  serve: { summary: 'serve the engine over WebSocket for remote clients (robots, sim runs, apps)', load: () => import('./cli/serveCommand.ts'), onnx: 'keep long text out of the command line' },
  worker: { summary: 'join a NATS cluster as an engine worker (emu serve --nats and NatsBackend clients use it)', load: () => import('./cli/workerCommand.ts'), onnx: 'keep long text out of the command line' },
  convert: { summary: 'convert released Emu3.5 weights (decoder safetensors, IBQ vision tokenizer) into a model folder', load: () => import('./cli/convertCommand.ts'), onnx: 'keep long text out of the command line' },
  model: { summary: '`emu model check DIR`: is a model folder usable here (manifest, graphs, tokenizer, providers, memory)', load: () => import('./cli/modelCheckCommand.ts'), onnx: 'keep long text out of the command line' },
  doctor: { summary: 'the same as `emu model check [DIR]`: which providers really run here and what fixes the others', load: async () => (await import('./cli/modelCheckCommand.ts')).doctor, onnx: 'keep long text out of the command line' },
  bridge: { summary: 'run the planning bridge over ros|mcap|memory transports', load: () => import('./cli/bridgeCommand.ts'), onnx: 'keep long text out of the command line (goals can come from the goal topic or a replayed bag)' },
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
  const long = command.onnx ? longCommandLine(name, argv, command.onnx) : undefined;
  if (long) {
    console.error(`emu ${name}: [${long.code}] ${long.message}`);
    return 2;
  }
  try {
    return await (await command.load()).run(rest);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    // A flag node's parseArgs rejects is a usage error (exit 2, like a missing flag), not a failure of the work.
    if (e.code?.startsWith('ERR_PARSE_ARGS_')) {
      console.error(`emu ${name}: ${e.message}. Run 'emu ${name} --help' for the options.`);
      return 2;
    }
    console.error(`emu ${name}: ${e.code ? `[${e.code}] ` : ''}${e.message ?? String(err)}`);
    if (process.env.EMU_DEBUG) console.error(err);
    return 1;
  }
}

/** The typed refusal of a command line onnxruntime would crash on, or undefined when it is short enough. */
function longCommandLine(name: string, argv: string[], hint: string): InputError | undefined {
  const bytes = Buffer.byteLength(argv.join(' '));
  if (bytes <= MAX_ARGV_BYTES) return undefined;
  return new InputError(
    'input_invalid',
    `the command line is ${(bytes / 1024).toFixed(1)} KB, over the ${MAX_ARGV_BYTES / 1024} KB 'emu ${name}' accepts (onnxruntime crashes on long command lines); ${hint}`,
  );
}
