import type { ModeSampling } from '../model/ModelManifest.ts';
import type { LogitsWarper } from './LogitsWarper.ts';
import { TemperatureWarper } from './warpers/TemperatureWarper.ts';
import { TopKWarper } from './warpers/TopKWarper.ts';
import { TopPWarper } from './warpers/TopPWarper.ts';

/** Temperature → top-k → top-p for one mode, leaving out the ones whose setting is neutral. */
export function buildWarpers(m: ModeSampling, vocabSize: number): LogitsWarper[] {
  const out: LogitsWarper[] = [];
  if (m.temperature !== 1) out.push(new TemperatureWarper(m.temperature));
  if (m.topK < vocabSize) out.push(new TopKWarper(m.topK));
  if (m.topP < 1) out.push(new TopPWarper(m.topP));
  return out;
}
