import type { EpisodeResult } from './runEpisode.ts';

/** PSNR of identical frames is infinite; averages cap it here. @unit dB */
export const PSNR_CAP_DB = 60;

/** Aggregate figures over a set of episodes (what `bench:planners` tabulates). */
export interface SuiteMetrics {
  episodes: number;
  successRate: number;
  /** CALVIN-style: mean number of leading goal predicates achieved. */
  avgCompletedLength: number;
  avgChainLength: number;
  subgoalSuccessRate: number;
  subgoalsExecuted: number;
  plansPerEpisode: number;
  /** Re-plans the closed loop made per episode. */
  replansPerEpisode: number;
  /** @unit ms */
  planLatencyP50Ms: number;
  /** @unit ms */
  planLatencyP95Ms: number;
  keyframes: number;
  keyframeAgreement: number | null;
  keyframeExactRate: number | null;
  /** Mean PSNR, each value capped at PSNR_CAP_DB. @unit dB */
  keyframePsnrDb: number | null;
  errors: number;
}

/** Aggregates episode results (success, chain length, subgoals, latency, keyframe fidelity). */
export function suiteMetrics(results: readonly EpisodeResult[]): SuiteMetrics {
  const n = results.length;
  const subgoals = results.flatMap((r) => r.subgoals);
  const scored = subgoals.filter((s) => s.keyframeAgreement !== undefined);
  const psnrs = scored.flatMap((s) => (s.keyframePsnr === undefined ? [] : [Math.min(PSNR_CAP_DB, s.keyframePsnr)]));
  const latencies = results.flatMap((r) => r.planLatenciesMs).sort((a, b) => a - b);
  return {
    episodes: n,
    successRate: mean(results.map((r) => (r.success ? 1 : 0))) ?? 0,
    avgCompletedLength: mean(results.map((r) => r.completed)) ?? 0,
    avgChainLength: mean(results.map((r) => r.chainLength)) ?? 0,
    subgoalSuccessRate: mean(subgoals.map((s) => (s.ok ? 1 : 0))) ?? 0,
    subgoalsExecuted: subgoals.length,
    plansPerEpisode: mean(results.map((r) => r.plans)) ?? 0,
    replansPerEpisode: mean(results.map((r) => r.replanReasons.length)) ?? 0,
    planLatencyP50Ms: quantile(latencies, 0.5),
    planLatencyP95Ms: quantile(latencies, 0.95),
    keyframes: scored.length,
    keyframeAgreement: mean(scored.map((s) => s.keyframeAgreement!)),
    keyframeExactRate: mean(scored.map((s) => (s.keyframeAgreement === 1 ? 1 : 0))),
    keyframePsnrDb: mean(psnrs),
    errors: results.filter((r) => r.error).length,
  };
}

function mean(xs: readonly number[]): number | null {
  return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Nearest-rank quantile of sorted values (0 when empty). */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
