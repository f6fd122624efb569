import RAPIER from '@dimforge/rapier3d-compat';
import type { BlockColour } from './colours.ts';
import { emptyLayout, MAX_STACK, normaliseCell, type Layout, type Slot } from './Layout.ts';

/** Geometry, in slot pitches (one slot = 1 unit); z is up, x = column, y = row. */
const HALF = 0.3;
const BOWL_FLOOR = 0.02;
const BOWL_WALL = { inner: 0.42, thickness: 0.04, height: 0.1 };
const SAFE_Z = 2.8;
const PARK = { x: -3, y: -3, z: 3 };
const SPEED_PER_STEP = 0.12;
const MAX_SETTLE_STEPS = 300;
const SETTLED_FOR = 8;
/** A block counts as toppled when tilted past this (|cos| of the up axis) or this far off its slot centre. */
const UPRIGHT_MIN = 0.97;
const OFF_CENTRE_MAX = 0.2;

let ready: Promise<void> | null = null;

/** Initialises Rapier's WASM once per thread. */
export function initPhysics(): Promise<void> {
  ready ??= RAPIER.init();
  return ready;
}

export interface TransferOutcome {
  layout: Layout;
  toppled: BlockColour[];
  steps: number;
}

export interface TransferOptions {
  /** Release the block this far off the target centre (x, y in slot units): to test toppling. */
  releaseOffset?: { x: number; y: number };
}

interface Vec3 {
  x: number;
  y: number;
  z: number;
}

/**
 * Rigid-body tabletop (Rapier): a fixed table, bowls as low rings, blocks as dynamic cubes and a
 * kinematic gripper that carries a block by turning it kinematic. The logical layout is read back
 * by quantising settled poses to the slot grid.
 */
export class PhysicsScene {
  readonly #world: RAPIER.World;
  readonly #blocks = new Map<BlockColour, RAPIER.RigidBody>();
  readonly #gripper: RAPIER.RigidBody;
  readonly #bowls: Layout;
  #steps = 0;

  private constructor(layout: Layout) {
    const rows = layout.length;
    const cols = layout[0]?.length ?? 0;
    this.#world = new RAPIER.World({ x: 0, y: 0, z: -9.81 });
    this.#bowls = emptyLayout(rows, cols);
    this.#addTable(rows, cols);
    layout.forEach((row, r) =>
      row.forEach((cell, c) => {
        if (cell?.bowl) {
          this.#addBowl(r, c);
          this.#bowls[r]![c] = { bowl: cell.bowl, stack: [] };
        }
        cell?.stack.forEach((colour, level) => this.#addBlock(colour, r, c, level, cell.bowl !== null));
      }),
    );
    this.#gripper = this.#world.createRigidBody(RAPIER.RigidBodyDesc.kinematicPositionBased().setTranslation(PARK.x, PARK.y, PARK.z));
  }

  /** @example const scene = await PhysicsScene.create(layout) */
  static async create(layout: Layout): Promise<PhysicsScene> {
    await initPhysics();
    return new PhysicsScene(layout);
  }

  /** Physics steps taken so far (the controller's step counter). */
  get steps(): number {
    return this.#steps;
  }

  /**
   * Moves the top block of `from` onto `to` with the gripper: above the source, down, attach, up to a
   * safe height, across, down onto the target, release, park, then step until everything settles.
   */
  transfer(from: Slot, to: Slot, options: TransferOptions = {}): TransferOutcome {
    const start = this.#steps;
    const block = this.#topBlockAt(from);
    if (!block) return { layout: this.readLayout().layout, toppled: [], steps: 0 };
    const pos = block.translation();
    this.#moveGripper({ x: pos.x, y: pos.y, z: SAFE_Z });
    this.#moveGripper({ x: pos.x, y: pos.y, z: pos.z + HALF });
    block.setBodyType(RAPIER.RigidBodyType.KinematicPositionBased, true);
    block.setRotation({ x: 0, y: 0, z: 0, w: 1 }, true);
    const carry = (g: Vec3) => block.setNextKinematicTranslation({ x: g.x, y: g.y, z: g.z - HALF });
    this.#moveGripper({ x: pos.x, y: pos.y, z: SAFE_Z }, carry);
    const dx = to.c + 0.5 + (options.releaseOffset?.x ?? 0);
    const dy = to.r + 0.5 + (options.releaseOffset?.y ?? 0);
    this.#moveGripper({ x: dx, y: dy, z: SAFE_Z }, carry);
    const landing = this.#supportTop(to, block) + 2 * HALF + 0.005;
    this.#moveGripper({ x: dx, y: dy, z: landing }, carry);
    block.setBodyType(RAPIER.RigidBodyType.Dynamic, true);
    block.setLinvel({ x: 0, y: 0, z: 0 }, true);
    block.setAngvel({ x: 0, y: 0, z: 0 }, true);
    this.#moveGripper({ x: dx, y: dy, z: SAFE_Z });
    this.#gripper.setTranslation(PARK, true);
    this.#settle();
    const read = this.readLayout();
    return { layout: read.layout, toppled: read.toppled, steps: this.#steps - start };
  }

  /** Steps until all blocks are at rest (or a step cap). */
  settle(): void {
    this.#settle();
  }

  /** The quantised layout (blocks grouped by nearest slot, ordered by height) and which blocks are not upright/centred. */
  readLayout(): { layout: Layout; toppled: BlockColour[] } {
    const rows = this.#bowls.length;
    const cols = this.#bowls[0]?.length ?? 0;
    const placed: { colour: BlockColour; r: number; c: number; z: number }[] = [];
    const toppled: BlockColour[] = [];
    for (const [colour, body] of this.#blocks) {
      const t = body.translation();
      const q = body.rotation();
      const upright = 1 - 2 * (q.x * q.x + q.y * q.y);
      const c = Math.floor(t.x);
      const r = Math.floor(t.y);
      const offCentre = Math.hypot(t.x - (c + 0.5), t.y - (r + 0.5));
      if (upright < UPRIGHT_MIN || offCentre > OFF_CENTRE_MAX || t.z < 0) toppled.push(colour);
      if (r < 0 || c < 0 || r >= rows || c >= cols || t.z < -0.5) continue;
      placed.push({ colour, r, c, z: t.z });
    }
    const layout = this.#bowls.map((row) => row.map((cell) => (cell ? { bowl: cell.bowl, stack: [] as BlockColour[] } : null)));
    placed.sort((a, b) => a.z - b.z);
    for (const p of placed) {
      const cell = (layout[p.r]![p.c] ??= { bowl: null, stack: [] });
      if (cell.stack.length < MAX_STACK) cell.stack.push(p.colour);
    }
    return { layout: layout.map((row) => row.map(normaliseCell)), toppled };
  }

  /** Frees the WASM world. */
  dispose(): void {
    this.#world.free();
  }

  #addTable(rows: number, cols: number): void {
    const body = this.#world.createRigidBody(RAPIER.RigidBodyDesc.fixed().setTranslation(cols / 2, rows / 2, -0.5));
    this.#world.createCollider(RAPIER.ColliderDesc.cuboid(cols / 2, rows / 2, 0.5).setFriction(0.8), body);
  }

  #addBowl(r: number, c: number): void {
    const body = this.#world.createRigidBody(RAPIER.RigidBodyDesc.fixed().setTranslation(c + 0.5, r + 0.5, 0));
    const { inner, thickness, height } = BOWL_WALL;
    const mid = inner + thickness / 2;
    const long = inner + thickness;
    this.#world.createCollider(RAPIER.ColliderDesc.cuboid(long, long, BOWL_FLOOR / 2).setTranslation(0, 0, BOWL_FLOOR / 2).setFriction(0.8), body);
    for (const [x, y, hx, hy] of [
      [mid, 0, thickness / 2, long],
      [-mid, 0, thickness / 2, long],
      [0, mid, long, thickness / 2],
      [0, -mid, long, thickness / 2],
    ] as const) {
      this.#world.createCollider(RAPIER.ColliderDesc.cuboid(hx, hy, height / 2).setTranslation(x, y, height / 2), body);
    }
  }

  #addBlock(colour: BlockColour, r: number, c: number, level: number, inBowl: boolean): void {
    const z = (inBowl ? BOWL_FLOOR : 0) + HALF + level * 2 * HALF;
    const body = this.#world.createRigidBody(RAPIER.RigidBodyDesc.dynamic().setTranslation(c + 0.5, r + 0.5, z));
    this.#world.createCollider(RAPIER.ColliderDesc.cuboid(HALF, HALF, HALF).setFriction(0.7).setRestitution(0), body);
    this.#blocks.set(colour, body);
  }

  #blocksAt(slot: Slot, except?: RAPIER.RigidBody): RAPIER.RigidBody[] {
    return [...this.#blocks.values()].filter((b) => {
      const t = b.translation();
      return b !== except && Math.floor(t.x) === slot.c && Math.floor(t.y) === slot.r && t.z > -0.5;
    });
  }

  #topBlockAt(slot: Slot): RAPIER.RigidBody | null {
    const here = this.#blocksAt(slot).sort((a, b) => b.translation().z - a.translation().z);
    return here[0] ?? null;
  }

  /** Height of the surface a block released over `slot` lands on. */
  #supportTop(slot: Slot, carried: RAPIER.RigidBody): number {
    const tops = this.#blocksAt(slot, carried).map((b) => b.translation().z + HALF);
    const floor = this.#bowls[slot.r]?.[slot.c]?.bowl ? BOWL_FLOOR : 0;
    return Math.max(floor, ...tops);
  }

  #moveGripper(target: Vec3, carry?: (g: Vec3) => void): void {
    const from = this.#gripper.translation();
    const dist = Math.hypot(target.x - from.x, target.y - from.y, target.z - from.z);
    const n = Math.max(1, Math.ceil(dist / SPEED_PER_STEP));
    for (let i = 1; i <= n; i++) {
      const f = i / n;
      const g = { x: from.x + (target.x - from.x) * f, y: from.y + (target.y - from.y) * f, z: from.z + (target.z - from.z) * f };
      this.#gripper.setNextKinematicTranslation(g);
      carry?.(g);
      this.#step();
    }
  }

  #settle(): void {
    let still = 0;
    for (let i = 0; i < MAX_SETTLE_STEPS && still < SETTLED_FOR; i++) {
      this.#step();
      still = this.#moving() ? 0 : still + 1;
    }
  }

  #moving(): boolean {
    for (const body of this.#blocks.values()) {
      if (body.isSleeping()) continue;
      const v = body.linvel();
      const w = body.angvel();
      if (Math.hypot(v.x, v.y, v.z) > 1e-3 || Math.hypot(w.x, w.y, w.z) > 1e-3) return true;
    }
    return false;
  }

  #step(): void {
    this.#world.step();
    this.#steps++;
  }
}
