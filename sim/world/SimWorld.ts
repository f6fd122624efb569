import type { RgbImage } from '../../sdk/image/RgbImage.ts';
import { DEFAULT_FRAME_SIZE, renderLayout, type FrameSize } from '../render/renderLayout.ts';
import type { BlockColour } from './colours.ts';
import { cloneLayout, moveTopBlock, type Layout, type Slot } from './Layout.ts';
import { PhysicsScene, type TransferOptions } from './PhysicsScene.ts';

export interface SimWorldOptions {
  /**
   * Run the rigid-body simulation (Rapier). Off, a transfer is the exact logical move it settles
   * to when nothing topples: what the data export uses to skip physics steps. @default true
   */
  physics?: boolean;
  /** Size of rendered frames. @default 128×128 */
  frameSize?: FrameSize;
}

export interface TransferResult {
  /** Blocks not upright and centred on a slot after settling (empty when all is well). */
  toppled: BlockColour[];
}

/**
 * One tabletop episode's world: the state as a layout (what the camera and perception see) kept in
 * step with the physics scene when physics is on.
 */
export class SimWorld {
  #layout: Layout;
  #physics: PhysicsScene | null;
  readonly frameSize: FrameSize;

  private constructor(layout: Layout, physics: PhysicsScene | null, frameSize: FrameSize) {
    this.#layout = layout;
    this.#physics = physics;
    this.frameSize = frameSize;
  }

  /** @example const world = await SimWorld.create(scene.layout, { physics: false }) */
  static async create(layout: Layout, options: SimWorldOptions = {}): Promise<SimWorld> {
    const physics = options.physics ?? true;
    const scene = physics ? await PhysicsScene.create(layout) : null;
    scene?.settle();
    const settled = scene ? scene.readLayout().layout : cloneLayout(layout);
    return new SimWorld(settled, scene, options.frameSize ?? DEFAULT_FRAME_SIZE);
  }

  /** A copy of the current (settled, quantised) state. */
  get layout(): Layout {
    return cloneLayout(this.#layout);
  }

  get usesPhysics(): boolean {
    return this.#physics !== null;
  }

  /** Physics steps taken (0 without physics). */
  get physicsSteps(): number {
    return this.#physics?.steps ?? 0;
  }

  render(size: FrameSize = this.frameSize): RgbImage {
    return renderLayout(this.#layout, size);
  }

  /**
   * Replaces the state by `layout` (a disturbance from outside the robot: a person moving a block),
   * rebuilding the physics scene and letting it settle.
   */
  async replace(layout: Layout): Promise<void> {
    if (!this.#physics) {
      this.#layout = cloneLayout(layout);
      return;
    }
    const scene = await PhysicsScene.create(layout);
    scene.settle();
    this.#physics.dispose();
    this.#physics = scene;
    this.#layout = scene.readLayout().layout;
  }

  /** Moves the top block of `from` onto `to` (callers check legality first). */
  transfer(from: Slot, to: Slot, options: TransferOptions = {}): TransferResult {
    if (!this.#physics) {
      this.#layout = moveTopBlock(this.#layout, from, to);
      return { toppled: [] };
    }
    const outcome = this.#physics.transfer(from, to, options);
    this.#layout = outcome.layout;
    return { toppled: outcome.toppled };
  }

  dispose(): void {
    this.#physics?.dispose();
  }
}
