import { Observable } from 'rxjs';
import type { EmuBackend } from '../../sdk/EmuBackend.ts';
import { AbortError } from '../../sdk/errors.ts';
import type { FinishReason, GenerationEvent, OutputItem } from '../../sdk/generation/GenerationEvent.ts';
import type { RequestOptions, TaskRequest } from '../../sdk/generation/TaskRequest.ts';
import { createRgbImage, type RgbImage } from '../../sdk/image/RgbImage.ts';

/**
 * TEST DOUBLE (not a model): an EmuBackend that replays a fixed list of GenerationEvents, one per
 * macrotask (or every `delayMs`), and records what it was asked and whether it was stopped early.
 */
export class ScriptedBackend implements EmuBackend {
  readonly modelName = 'scripted-test-double';
  readonly tasks = ['vla'] as const;
  readonly requests: TaskRequest[] = [];
  /** Generations stopped (unsubscribed or aborted) before their last event. */
  stoppedEarly = 0;
  eventsEmitted = 0;
  closed = false;

  constructor(
    private readonly script: (request: TaskRequest) => GenerationEvent[],
    private readonly delayMs = 0,
  ) {}

  generate(request: TaskRequest, options: RequestOptions = {}): Observable<GenerationEvent> {
    return new Observable<GenerationEvent>((subscriber) => {
      this.requests.push(request);
      const events = this.script(request);
      let i = 0;
      let finished = false;
      let timer: NodeJS.Timeout | undefined;
      const step = () => {
        if (options.signal?.aborted) {
          finished = true;
          this.stoppedEarly += 1;
          subscriber.error(new AbortError('aborted', { cause: options.signal.reason }));
          return;
        }
        const event = events[i++];
        if (!event) {
          finished = true;
          return subscriber.complete();
        }
        this.eventsEmitted += 1;
        subscriber.next(event);
        if (!subscriber.closed) timer = setTimeout(step, this.delayMs);
      };
      timer = setTimeout(step, this.delayMs);
      return () => {
        clearTimeout(timer);
        if (!finished) this.stoppedEarly += 1;
      };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export interface ScriptStep {
  text: string;
  /** A keyframe after the text; omitted = trailing text without image. */
  image?: RgbImage;
  cot?: string;
}

/** A vla generation's events for the given steps, text split into small deltas like a real stream. */
export function vlaEvents(steps: ScriptStep[], stopReason: FinishReason = 'eos'): GenerationEvent[] {
  const events: GenerationEvent[] = [{ type: 'start', task: 'vla', promptTokens: 10, uncondPromptTokens: 5, seed: 1 }];
  const output: OutputItem[] = [];
  let imageIndex = 0;
  for (const step of steps) {
    if (step.cot) {
      events.push({ type: 'cot.delta', kind: 'image', text: step.cot });
      output.push({ type: 'image_cot', text: step.cot });
    }
    for (const chunk of step.text.match(/.{1,4}/gs) ?? []) events.push({ type: 'text.delta', text: chunk });
    output.push({ type: 'text', text: step.text });
    if (step.image) {
      const grid = { rows: 2, cols: 2 };
      const codes = [1, 2, 3, 4];
      events.push({ type: 'image.start', index: imageIndex, grid });
      events.push({ type: 'image.progress', index: imageIndex, rowsDone: 1, rows: 2 });
      events.push({ type: 'image.done', index: imageIndex, grid, codes, image: step.image });
      output.push({ type: 'image', grid, codes, image: step.image });
      imageIndex += 1;
    }
  }
  events.push({
    type: 'done',
    output,
    tokens: [1, 2, 3],
    usage: {
      promptTokens: 10,
      uncondPromptTokens: 5,
      generatedTokens: 42,
      forwardPasses: { cond: 42, uncond: 40 },
      timings: { prefillMs: 1, decodeMs: 2, visionMs: 3, totalMs: 6 },
      stopReason,
    },
  });
  return events;
}

export function solidImage(width: number, height: number, value: number): RgbImage {
  return createRgbImage(width, height, [value, value, value]);
}
