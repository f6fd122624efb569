import { defer, finalize, type Observable } from 'rxjs';
import type { PlanOptions, Planner, PlanProgress, PlanRequest, PlanResult } from '../../planners/Planner.ts';
import type { RgbImage } from '../../sdk/image/RgbImage.ts';
import type { PendingWork } from './PendingWork.ts';

/**
 * The planner as the pipeline runs it: every call is pending work from the call until it settles
 * (or is cancelled), and the frame it plans from is reported as used (the frame counters).
 */
export function trackedPlanner(planner: Planner, work: PendingWork, onFrameUsed: (frame: RgbImage) => void): Planner {
  const stream = planner.planStream?.bind(planner);
  return {
    name: planner.name,
    plan(request: PlanRequest, options?: PlanOptions): Promise<PlanResult> {
      onFrameUsed(request.frame);
      return work.track(() => planner.plan(request, options));
    },
    ...(stream
      ? {
          planStream(request: PlanRequest, options?: PlanOptions): Observable<PlanProgress> {
            return defer(() => {
              onFrameUsed(request.frame);
              const end = work.begin();
              return stream(request, options).pipe(finalize(end));
            });
          },
        }
      : {}),
  };
}
