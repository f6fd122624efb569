import { z } from 'zod';
import type { ControllerFeedback } from '../../planners/PlanExecutor.ts';
import { StringMsgSchema } from './rosTypes.ts';

/**
 * What a robot's controller publishes on the feedback topic: a `std_msgs/msg/String` whose `data`
 * is JSON `{"index": 0, "status": "done"|"failed", "reason"?: "…"}`.
 */
export const FeedbackWireSchema = z.object({
  index: z.number().int().nonnegative(),
  status: z.enum(['done', 'failed']),
  reason: z.string().optional(),
});
export type FeedbackWire = z.infer<typeof FeedbackWireSchema>;

/** A feedback message → the executor's ControllerFeedback; throws (zod or JSON) on malformed input. */
export function feedbackFromRos(raw: unknown): ControllerFeedback {
  const fb = FeedbackWireSchema.parse(JSON.parse(StringMsgSchema.parse(raw).data));
  return fb.status === 'done' ? { type: 'done', index: fb.index } : { type: 'failed', index: fb.index, ...(fb.reason ? { reason: fb.reason } : {}) };
}

/** The controller's side: a report → the `std_msgs/msg/String` to publish. */
export function feedbackToRos(feedback: FeedbackWire): { data: string } {
  return { data: JSON.stringify(FeedbackWireSchema.parse(feedback)) };
}
