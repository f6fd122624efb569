import { InputError } from '../../sdk/errors.ts';
import type { Layout } from '../world/Layout.ts';
import type { SimWorld } from '../world/SimWorld.ts';

/**
 * The harness's window onto the episode's true state, handed to privileged planners (the oracle)
 * when they are built. The request a planner gets stays frame + goal, as on a robot; the harness
 * attaches each episode's world here before running it.
 */
export class WorldView {
  #world: SimWorld | undefined;

  attach(world: SimWorld): void {
    this.#world = world;
  }

  detach(world: SimWorld): void {
    if (this.#world === world) this.#world = undefined;
  }

  /** The true, settled layout of the attached world. */
  get layout(): Layout {
    if (!this.#world) throw new InputError('input_invalid', 'no simulated world is attached: privileged planners run only inside the evaluation harness');
    return this.#world.layout;
  }
}
