import { imageFromCompressedRos, lazyImageFromRos } from '../messages/imageFromRos.ts';
import { CompressedImageMsgSchema, ImageMsgSchema } from '../messages/rosTypes.ts';
import type { BridgeConfig } from './BridgeConfig.ts';
import { asInputError } from './classifyError.ts';
import type { FrameSampler, StampedFrame } from './FrameSampler.ts';
import type { StatusReporter } from './StatusReporter.ts';

/**
 * Camera messages → the frame sampler: raw `sensor_msgs/msg/Image` validated at once and converted
 * only if a plan takes it, compressed ones through the sampler's one-in-flight async decode. A bad frame is counted and reported, never
 * thrown.
 */
export class FrameInput {
  constructor(
    private readonly sampler: FrameSampler,
    private readonly status: StatusReporter,
    /** Read per message: the limits may change at run time (a ROS parameter). */
    private readonly limits: () => BridgeConfig['frames'],
    private readonly topics: { image: string; compressedImage: string },
  ) {}

  onImage(raw: unknown): void {
    this.status.count('frames_received');
    try {
      const msg = ImageMsgSchema.parse(raw);
      this.sampler.offer({ image: lazyImageFromRos(msg, this.limits()), stamp: msg.header.stamp, frameId: msg.header.frame_id });
    } catch (err) {
      this.status.problem(this.topics.image, asInputError(err), 'frames_rejected');
    }
  }

  onCompressed(raw: unknown): void {
    this.status.count('frames_received');
    const parsed = CompressedImageMsgSchema.safeParse(raw);
    if (!parsed.success) return this.status.problem(this.topics.compressedImage, asInputError(parsed.error), 'frames_rejected');
    const msg = parsed.data;
    const limits = this.limits();
    this.sampler.offerAsync(async (): Promise<StampedFrame> => ({
      image: await imageFromCompressedRos(msg, limits),
      stamp: msg.header.stamp,
      frameId: msg.header.frame_id,
    }));
  }
}
