import { readFile } from 'node:fs/promises';
import { load as loadYaml } from 'js-yaml';
import { z } from 'zod';
import { ConfigError, parseOrThrow } from '../../sdk/errors.ts';
import { EmuVlaPlannerOptionsSchema } from '../../planners/EmuVlaPlanner.ts';
import { PlanExecutorOptionsSchema } from '../../planners/PlanExecutor.ts';
import { DEVICES } from '../../sdk/runtime/devices.ts';
import { TRANSPORT_KINDS } from '../transports/Transport.ts';
import { QOS_NAMES } from '../transports/Transport.ts';

const QosSchema = z.enum(QOS_NAMES);
const topicName = z.string().regex(/^\/?[A-Za-z_~][A-Za-z0-9_/~]*$/, 'not a valid ROS topic name');

/**
 * Every bridge parameter, with defaults. Sources, lowest to highest priority: defaults, the YAML
 * `--config` file (either this shape or ROS-style `<node>: ros__parameters: {...}`), CLI flags.
 */
export const BridgeConfigSchema = z
  .object({
    transport: z.enum(TRANSPORT_KINDS).default('memory'),
    node: z
      .object({
        name: z.string().min(1).default('emu_bridge'),
        namespace: z.string().default(''),
        /**
         * Configure (load the model) and activate at start. Off: the node starts unconfigured and
         * waits for its lifecycle transitions (ROS: `ros2 lifecycle set /emu_bridge configure`).
         */
        autostart: z.boolean().default(true),
      })
      .prefault({}),
    topics: z
      .object({
        image: topicName.describe('camera input (sensor_msgs/msg/Image)').default('/camera/image_raw'),
        /** Optional `sensor_msgs/msg/CompressedImage` input (JPEG/PNG); '' disables it. */
        compressedImage: z.union([topicName, z.literal('')]).describe("optional sensor_msgs/msg/CompressedImage input (JPEG/PNG); '' off").default(''),
        goal: topicName.describe('goals as std_msgs/msg/String').default('/emu/goal'),
        /**
         * Controller feedback (`std_msgs/msg/String`, JSON `{"index": 0, "status": "done"|"failed", "reason"?: "…"}`).
         * When set, plans are followed (PlanExecutor: advance, re-plan on failure/timeout/keyframe mismatch);
         * '' publishes plans without following them.
         */
        feedback: z.union([topicName, z.literal('')]).describe("controller feedback (std_msgs/msg/String JSON); set: plans are followed and re-planned; '' off").default(''),
        plan: topicName.describe('plans out (emu_robotics_msgs/msg/Plan, transient local)').default('/emu/plan'),
        subgoal: topicName.describe('subgoals out (emu_robotics_msgs/msg/Subgoal)').default('/emu/subgoal'),
        status: topicName.describe('bridge status out (emu_robotics_msgs/msg/BridgeStatus)').default('/emu/status'),
        action: topicName.describe('the PlanTask action (emu_robotics_msgs/action/PlanTask)').default('/emu/plan_task'),
      })
      .prefault({}),
    qos: z
      .object({
        image: QosSchema.describe('QoS of the camera subscription').default('sensor_data'),
        goal: QosSchema.describe('QoS of the goal subscription').default('reliable'),
        plan: QosSchema.describe('QoS of plans and subgoals').default('latched'),
        status: QosSchema.describe('QoS of the status topic').default('reliable'),
      })
      .prefault({}),
    model: z
      .object({
        dir: z.string().describe('model folder (emu-model.json)').optional(),
        url: z
          .string()
          .regex(/^(wss?|nats):\/\/./i, 'a remote engine: ws://host:port (emu serve) or nats://host:port (emu worker)')
          .describe('remote engine instead of a model folder: ws://host:port or nats://host:port')
          .optional(),
        tokenFile: z.string().describe("file holding the remote engine's token (default: the EMU_TOKEN variable)").optional(),
        device: z.enum(DEVICES).describe('execution device').default('cpu'),
        threads: z.number().int().positive().describe('CPU threads for inference').default(1),
      })
      .prefault({}),
    /** The EmuVlaPlanner's own options (sampling, seed, grid, maxGoalChars), with its defaults. */
    planner: EmuVlaPlannerOptionsSchema.pick({ sampling: true, seed: true, grid: true, maxGoalChars: true }).prefault({}),
    frames: z
      .object({
        /** Largest accepted frame. @default 3840*2160 @unit px */
        maxPixels: z.number().int().positive().describe('largest accepted camera frame, in pixels').default(3840 * 2160),
      })
      .prefault({}),
    /** The closed loop's re-plan policy: PlanExecutor's own schema and defaults. */
    replan: PlanExecutorOptionsSchema.prefault({}),
    mcap: z
      .object({
        replay: z.string().optional(),
        record: z.string().optional(),
        compression: z.enum(['zstd', 'lz4', 'none']).default('zstd'),
        /** Replay speed; 0 = offline lockstep (each message waits for the planner to be idle). */
        rate: z.number().min(0).default(0),
      })
      .prefault({}),
  })
  .strict();
export type BridgeConfig = z.output<typeof BridgeConfigSchema>;
export type BridgeConfigInput = z.input<typeof BridgeConfigSchema>;

export function parseBridgeConfig(value: unknown): BridgeConfig {
  return parseOrThrow(BridgeConfigSchema, value, 'bridge config');
}

/** Reads a YAML parameter file; accepts ROS 2's `node: { ros__parameters: {...} }` nesting too. */
export async function loadBridgeConfigFile(path: string): Promise<BridgeConfigInput> {
  let doc: unknown;
  try {
    doc = loadYaml(await readFile(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read config '${path}': ${(err as Error).message}`, [], { cause: err });
  }
  if (doc === undefined || doc === null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`config '${path}' must be a YAML mapping`);
  const entries = Object.values(doc as Record<string, unknown>);
  const rosParams = entries.length === 1 ? (entries[0] as { ros__parameters?: unknown } | null)?.ros__parameters : undefined;
  return (rosParams ?? doc) as BridgeConfigInput;
}

/** Deep merge of plain objects, later sources winning; arrays and scalars are replaced. */
export function mergeConfig(...sources: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const src of sources) {
    if (!src || typeof src !== 'object') continue;
    for (const [k, v] of Object.entries(src)) {
      if (v === undefined) continue;
      const prev = out[k];
      out[k] = isPlain(v) && isPlain(prev) ? mergeConfig(prev, v) : v;
    }
  }
  return out;
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
