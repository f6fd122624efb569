import type { EmuBackend } from '../../sdk/EmuBackend.ts';
import type { OutputItem, Usage } from '../../sdk/generation/GenerationEvent.ts';
import type { SamplingOverrides } from '../../sdk/generation/TaskRequest.ts';
import { collect } from '../../sdk/tasks.ts';
import { renderLayout } from '../render/renderLayout.ts';
import type { Split } from '../tasks/generateScene.ts';
import { makeTaskExample, type ExportTask } from '../tasks/taskExamples.ts';
import { judgeTaskOutput, type ActionSlotRole, type TaskJudgement } from './judgeTaskOutput.ts';

export type GenerativeTask = Exclude<ExportTask, 'vla'>;
export const GENERATIVE_TASKS: readonly GenerativeTask[] = ['t2i', 'x2i', 'story', 'howto', 'explore'];

export interface TaskEvalOptions {
  task: GenerativeTask;
  split?: Split;
  /** Examples (seeds `seed`…`seed+count−1`). @default 20 */
  count?: number;
  seed?: number;
  signal?: AbortSignal;
  /** Overrides of the task's sampling preset (e.g. a parallel decoding scheme). */
  sampling?: SamplingOverrides;
  onProgress?: (done: number, total: number) => void;
}

export interface TaskExampleResult {
  seed: number;
  instruction: string;
  judgement: TaskJudgement;
  generatedTokens: number;
  /** @unit ms */
  latencyMs: number;
  usage: Usage;
  output: OutputItem[];
}

export interface TaskEvalReport {
  task: GenerativeTask;
  split: Split;
  examples: number;
  wellFormedRate: number;
  /** Generated images that agree with their text (t2i/x2i: with the instruction), over all generated images. */
  imageAgreementRate: number;
  /** Examples that are well formed and whose every image agrees. */
  exampleSuccessRate: number;
  latencyP50Ms: number;
  results: TaskExampleResult[];
}

/**
 * Runs held-out examples of a generative task through the SDK backend and judges each output with
 * the simulator (perception + skill semantics, see judgeTaskOutput). Deterministic for a given seed.
 */
export async function evaluateTask(backend: EmuBackend, options: TaskEvalOptions): Promise<TaskEvalReport> {
  const split = options.split ?? 'heldout';
  const count = options.count ?? 20;
  const seed0 = options.seed ?? 0;
  const results: TaskExampleResult[] = [];
  for (let i = 0; i < count; i++) {
    const seed = seed0 + i;
    const example = makeTaskExample(options.task, split, seed);
    const started = performance.now();
    const result = await collect(
      backend.generate({ task: options.task, prompt: example.instruction, images: example.inputs.map((l) => renderLayout(l)), seed, ...(options.sampling ? { sampling: options.sampling } : {}) }, options.signal ? { signal: options.signal } : {}),
    );
    results.push({
      seed,
      instruction: example.instruction,
      judgement: judgeTaskOutput(options.task, example, result.output),
      generatedTokens: result.usage.generatedTokens,
      latencyMs: performance.now() - started,
      usage: result.usage,
      output: result.output,
    });
    options.onProgress?.(i + 1, count);
  }
  return summarise(options.task, split, results);
}

function summarise(task: GenerativeTask, split: Split, results: TaskExampleResult[]): TaskEvalReport {
  const n = Math.max(1, results.length);
  const images = results.reduce((s, r) => s + r.judgement.images, 0);
  const agreeing = results.reduce((s, r) => s + r.judgement.imagesAgreeing, 0);
  const latencies = results.map((r) => r.latencyMs).sort((a, b) => a - b);
  return {
    task,
    split,
    examples: results.length,
    wellFormedRate: results.filter((r) => r.judgement.wellFormed).length / n,
    imageAgreementRate: images ? agreeing / images : 0,
    exampleSuccessRate: results.filter((r) => r.judgement.wellFormed && r.judgement.images > 0 && r.judgement.imagesAgreeing === r.judgement.images).length / n,
    latencyP50Ms: latencies[Math.floor(latencies.length / 2)] ?? 0,
    results,
  };
}

/** Why images disagree, counted over a report: the judge's reasons, with any quoted model text cut off. */
export function disagreementReasons(report: Pick<TaskEvalReport, 'results'>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of report.results) {
    for (const d of r.judgement.details) {
      if (d.agrees) continue;
      const why = (d.why ?? 'unknown').replace(/:\s*".*$/, '');
      counts[why] = (counts[why] ?? 0) + 1;
    }
  }
  return counts;
}

/** x2i's edit kinds, read off the instruction the simulator writes (sim/tasks/taskExamples.ts randomEdit). */
export function x2iEditKind(instruction: string): string {
  const add = /^add an? \w+ (block|bowl)\b/.exec(instruction);
  return add ? `add ${add[1]}` : (instruction.split(' ')[0] ?? '');
}

export interface KindAgreement {
  examples: number;
  images: number;
  agreeing: number;
  /** Slots wrong, summed over the kind's images (t2i/x2i judgements count them). */
  slotsWrong: number;
  /** story/howto: the wrong images that differ from the state after the action at its source, its destination, elsewhere. */
  wrongAt: Record<ActionSlotRole, number>;
}

const noKindYet = (): KindAgreement => ({ examples: 0, images: 0, agreeing: 0, slotsWrong: 0, wrongAt: { source: 0, destination: 0, elsewhere: 0 } });

/** Image agreement per kind of instruction (e.g. x2i's add / remove / move / recolour edits). */
export function agreementByKind(
  report: Pick<TaskEvalReport, 'results'>,
  kindOf: (instruction: string) => string,
): Record<string, KindAgreement> {
  const out: Record<string, KindAgreement> = {};
  for (const r of report.results) {
    const k = (out[kindOf(r.instruction)] ??= noKindYet());
    k.examples += 1;
    k.images += r.judgement.images;
    k.agreeing += r.judgement.imagesAgreeing;
    k.slotsWrong += r.judgement.details.reduce((s, d) => s + (d.slotsWrong ?? 0), 0);
  }
  return out;
}

/** Image agreement per kind of image (explore: per camera command; story/howto: per action kind), for judgements that name one. */
export function agreementByImageKind(report: Pick<TaskEvalReport, 'results'>): Record<string, KindAgreement> {
  const out: Record<string, KindAgreement> = {};
  for (const r of report.results) {
    const kinds = new Set<string>();
    for (const d of r.judgement.details) {
      if (d.kind === undefined) continue;
      const k = (out[d.kind] ??= noKindYet());
      if (!kinds.has(d.kind)) k.examples += 1;
      kinds.add(d.kind);
      k.images += 1;
      k.agreeing += d.agrees ? 1 : 0;
      k.slotsWrong += d.slotsWrong ?? 0;
      for (const role of d.wrongAt ?? []) k.wrongAt[role] += 1;
    }
  }
  return out;
}

export interface TextDiversity {
  examples: number;
  /** Examples whose texts, all of them in order, no earlier example wrote. */
  distinctTexts: number;
  /** Distinct first texts (story: the opening scene's description). */
  distinctFirstTexts: number;
}

/**
 * How varied a task's texts are across examples. Story's only input is its fixed instruction, so a model that tells
 * the same safe story for every seed would agree with its images and still fail the task; this catches it.
 */
export function textDiversity(report: Pick<TaskEvalReport, 'results'>): TextDiversity {
  const texts = report.results.map((r) => r.output.flatMap((o) => (o.type === 'text' ? [o.text.trim()] : [])));
  return {
    examples: texts.length,
    distinctTexts: new Set(texts.map((t) => JSON.stringify(t))).size,
    distinctFirstTexts: new Set(texts.map((t) => t[0] ?? '')).size,
  };
}
