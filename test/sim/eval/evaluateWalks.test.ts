import assert from 'node:assert/strict';
import { Observable, of } from 'rxjs';
import type { EmuBackend } from '../../../sdk/EmuBackend.ts';
import type { GenerationEvent } from '../../../sdk/generation/GenerationEvent.ts';
import type { EmuSession } from '../../../sdk/session/EmuSession.ts';
import { walkSession } from '../../../sdk/session/EmuSession.ts';
import { evaluateWalks } from '../../../sim/eval/evaluateWalks.ts';
import { perceiveLayout } from '../../../sim/perception/perceiveLayout.ts';
import { renderLayout } from '../../../sim/render/renderLayout.ts';
import { CAMERA_MOVES } from '../../../sim/tasks/taskExamples.ts';
import type { Layout } from '../../../sim/world/Layout.ts';

/** A session that moves its camera exactly as told (or, `frozen`, never), on the view it was given. */
function fakeBackend(behaviour: 'exact' | 'frozen'): EmuBackend {
  return {
    modelName: 'fake',
    tasks: ['explore'],
    generate: () => of(),
    close: async () => {},
    openSession: async (options) => {
      let view: Layout = perceiveLayout(options.images![0]!);
      let turns = 0;
      const session: EmuSession = {
        get turns() {
          return turns;
        },
        length: 0,
        dropped: 0,
        step(text) {
          return new Observable<GenerationEvent>((subscriber) => {
            const move = CAMERA_MOVES.find((m) => m.text === text) ?? CAMERA_MOVES[0]!;
            if (behaviour === 'exact') view = view.map((row, r) => row.map((_, c) => view[r + move.dr]?.[c + move.dc] ?? null));
            turns++;
            const image = renderLayout(view);
            subscriber.next({
              type: 'done',
              output: [{ type: 'text', text: move.text }, { type: 'image', grid: { rows: 8, cols: 8 }, codes: [], image }],
              tokens: [],
              usage: { promptTokens: 0, uncondPromptTokens: 0, generatedTokens: 1, forwardPasses: { cond: 1, uncond: 0 }, timings: { prefillMs: 0, decodeMs: 0, visionMs: 0, totalMs: 0 }, stopReason: 'eos' },
            });
            subscriber.complete();
          });
        },
        walk: (o) => walkSession(session, o),
        fork: () => session,
        close: () => {},
      };
      return session;
    },
  };
}

describe('evaluateWalks (spatial consistency of exploration sessions)', () => {
  it('a camera that moves exactly as told scores 100%; one that never moves scores low; both modes', async () => {
    for (const mode of ['interactive', 'free'] as const) {
      const exact = await evaluateWalks(fakeBackend('exact'), { mode, walks: 3, steps: 6 });
      assert.equal(exact.consistency, 1, mode);
      assert.deepEqual(exact.results.map((r) => r.views), [6, 6, 6]);
      const frozen = await evaluateWalks(fakeBackend('frozen'), { mode, walks: 3, steps: 6 });
      assert.ok(frozen.consistency < 0.5, `${mode}: frozen camera ${frozen.consistency}`);
    }
  });
});
