import type * as Rcl from 'rclnodejs';
import type { z } from 'zod';
import { ConfigError } from '../../sdk/errors.ts';
import type { BridgeLifecycle } from '../BridgeLifecycle.ts';
import { BridgeConfigSchema, parseBridgeConfig, type BridgeConfig } from '../pipeline/BridgeConfig.ts';
import type { Logger } from '../pipeline/StatusReporter.ts';
import type { RosTransport } from '../transports/RosTransport.ts';

/** The config sections that are ROS parameters, and whether they may change while configured. */
const SECTIONS = { topics: false, qos: false, model: false, planner: true, frames: true, replan: true } as const;

export type ParameterKind = 'bool' | 'integer' | 'double' | 'string' | 'integer_array';
export type ParameterValue = boolean | number | string | number[];

/** One ROS parameter of the bridge, derived from the config schema (one definition of each setting). */
export interface ParameterSpec {
  /** Dotted, as in a params file's nesting: `replan.maxReplans`. */
  name: string;
  kind: ParameterKind;
  description: string;
  /** Inclusive bounds (numbers), as the descriptor's integer/floating-point range. */
  range?: { from: number; to: number };
  /** Allowed strings (an enum). */
  choices?: readonly string[];
  /** The value meaning "not set" (the model's or preset's default) for an optional setting. */
  unset?: ParameterValue;
  /** Changeable while the node is configured (else only while unconfigured: read at configure). */
  runtime: boolean;
}

// rcl_interfaces/msg/ParameterType.
const TYPE: Record<ParameterKind, number> = { bool: 1, integer: 2, double: 3, string: 4, integer_array: 7 };
const SAFE = Number.MAX_SAFE_INTEGER;

/** Every bridge parameter, walked from BridgeConfigSchema (zod's own definitions). */
export function bridgeParameterSpecs(): ParameterSpec[] {
  const specs: ParameterSpec[] = [];
  for (const [section, runtime] of Object.entries(SECTIONS)) walk(section, BridgeConfigSchema.shape[section as keyof typeof SECTIONS], runtime, specs);
  return specs;
}

interface Unwrapped {
  schema: z.core.$ZodType;
  optional: boolean;
  description: string | undefined;
}

function unwrap(schema: z.core.$ZodType): Unwrapped {
  let optional = false;
  let description = (schema as { description?: string }).description;
  let s = schema;
  for (;;) {
    const def = s._zod.def as { type: string; innerType?: z.core.$ZodType };
    if (!def.innerType || !['default', 'prefault', 'optional', 'nullable'].includes(def.type)) break;
    if (def.type === 'optional') optional = true;
    s = def.innerType;
    description ??= (s as { description?: string }).description;
  }
  return { schema: s, optional, description };
}

function walk(name: string, schema: z.core.$ZodType, runtime: boolean, out: ParameterSpec[], parentOptional = false): void {
  const { schema: s, optional: own, description } = unwrap(schema);
  const optional = own || parentOptional;
  const def = s._zod.def as { type: string; shape?: Record<string, z.core.$ZodType>; entries?: Record<string, string>; options?: z.core.$ZodType[] };
  const base = { name, runtime, description: description ?? name };
  switch (def.type) {
    case 'object':
      for (const [key, child] of Object.entries(def.shape!)) walk(`${name}.${key}`, child, runtime, out, optional);
      return;
    case 'number': {
      const n = s as unknown as { minValue: number | null; maxValue: number | null; isInt: boolean };
      const kind = n.isInt ? 'integer' : 'double';
      const lo = n.minValue ?? -SAFE;
      const hi = Math.min(n.maxValue ?? SAFE, n.isInt ? SAFE : Number.MAX_VALUE);
      // ROS ranges are inclusive; an exclusive bound (positive()) starts at the next integer.
      const from = n.isInt && lo === 0 && !accepts(s, 0) ? 1 : lo;
      const spec: ParameterSpec = { ...base, kind, ...(optional ? { unset: -1 } : lo > -SAFE || hi < (n.isInt ? SAFE : Number.MAX_VALUE) ? { range: { from, to: hi } } : {}) };
      out.push(spec);
      return;
    }
    case 'boolean':
      out.push({ ...base, kind: 'bool' });
      return;
    case 'string':
      out.push({ ...base, kind: 'string', ...(optional ? { unset: '' } : {}) });
      return;
    case 'enum':
      // An optional choice (e.g. sampling.image.parallel) is '' when not set, like an optional string.
      out.push({ ...base, kind: 'string', choices: Object.values(def.entries!), ...(optional ? { unset: '' } : {}) });
      return;
    case 'union':
      // A topic name or '' (off): a string whose '' is a value of its own.
      if (def.options!.every((o) => ['string', 'literal'].includes(o._zod.def.type))) out.push({ ...base, kind: 'string' });
      return;
    case 'tuple':
      out.push({ ...base, kind: 'integer_array', ...(optional ? { unset: [] } : {}) });
      return;
  }
}

function accepts(schema: z.core.$ZodType, value: unknown): boolean {
  return (schema as unknown as { safeParse(v: unknown): { success: boolean } }).safeParse(value).success;
}

/** The parameter's value in a config (its `unset` value when the setting is not set). */
export function parameterValue(config: BridgeConfig, spec: ParameterSpec): ParameterValue {
  let v: unknown = config;
  for (const key of spec.name.split('.')) v = (v as Record<string, unknown> | undefined)?.[key];
  return v === undefined ? spec.unset! : (v as ParameterValue);
}

/** A config with these parameter values set (checked by the config schema: a ConfigError if not valid). */
export function withParameters(config: BridgeConfig, values: ReadonlyArray<{ spec: ParameterSpec; value: ParameterValue }>): BridgeConfig {
  const next = structuredClone(config) as Record<string, unknown>;
  for (const { spec, value } of values) {
    const path = spec.name.split('.');
    let at = next;
    for (const key of path.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>;
    const last = path.at(-1)!;
    if (spec.unset !== undefined && JSON.stringify(value) === JSON.stringify(spec.unset)) delete at[last];
    else at[last] = value;
  }
  return parseBridgeConfig(next);
}

/** A ROS parameter's value as the config has it (rclnodejs gives integers as bigint). */
function fromRos(spec: ParameterSpec, value: unknown): ParameterValue {
  if (spec.kind === 'integer' || spec.kind === 'double') return Number(value);
  if (spec.kind === 'integer_array') return Array.from(value as ArrayLike<number | bigint>, Number);
  return value as ParameterValue;
}

function toRos(spec: ParameterSpec, value: ParameterValue): unknown {
  if (spec.kind === 'integer') return BigInt(value as number);
  if (spec.kind === 'integer_array') return (value as number[]).map((v) => BigInt(v));
  return value;
}

/**
 * Declares the bridge's settings as ROS parameters of its node (descriptors with ranges, enum
 * choices and what "unset" means), taking `-p name:=value` / params-file overrides first, and
 * serves changes: planner, frames and replan apply at run time (the next goal plans with them);
 * topics, qos and model are read at configure, so they change only while unconfigured. Every
 * change is checked against the config schema; a refused one says why. Returns the config with
 * the overrides applied.
 */
export function declareBridgeParameters(transport: RosTransport, lifecycle: BridgeLifecycle, log?: Logger): BridgeConfig {
  const { rcl, node } = transport;
  const specs = bridgeParameterSpecs();
  const byName = new Map(specs.map((s) => [s.name, s]));

  const overrides = node.getParameterOverrides();
  const known = overrides.filter((p) => byName.has(p.name));
  for (const p of overrides) if (!byName.has(p.name) && p.name !== 'use_sim_time') log?.warn(`parameter override '${p.name}' is not a bridge parameter (they are: ${specs.map((s) => s.name).join(', ')})`);
  let config: BridgeConfig;
  try {
    config = withParameters(lifecycle.config, known.map((p) => ({ spec: byName.get(p.name)!, value: fromRos(byName.get(p.name)!, p.value) })));
  } catch (err) {
    throw new ConfigError(`ROS parameter overrides: ${(err as Error).message}`, [], { cause: err });
  }

  const parameters = specs.map((spec) => new rcl.Parameter(spec.name, TYPE[spec.kind] as Rcl.ParameterType, toRos(spec, parameterValue(config, spec))));
  const descriptors = specs.map((spec) => descriptor(rcl, spec));
  node.declareParameters(parameters, descriptors, true);

  node.addOnSetParametersCallback((changed) => {
    const values = [];
    for (const p of changed) {
      const spec = byName.get(p.name);
      if (!spec) continue; // use_sim_time and other node parameters: not ours
      if (lifecycle.transitioning) return refuse(`${p.name}: the node is ${lifecycle.transitioning === 'activate' ? 'activating' : `in ${lifecycle.transitioning}`}; try again when it is done`);
      if (!spec.runtime && lifecycle.state !== 'unconfigured')
        return refuse(`${p.name} is read when the node is configured: deactivate and clean up the node first (it is ${lifecycle.state})`);
      values.push({ spec, value: fromRos(spec, p.value) });
    }
    if (values.length === 0) return { successful: true, reason: '' };
    let next: BridgeConfig;
    try {
      next = withParameters(lifecycle.config, values);
    } catch (err) {
      return refuse((err as Error).message);
    }
    lifecycle.update(next);
    log?.info(`parameters: ${values.map(({ spec, value }) => `${spec.name}=${JSON.stringify(value)}`).join(', ')}`);
    return { successful: true, reason: '' };
  });
  return config;
}

function refuse(reason: string): { successful: false; reason: string } {
  return { successful: false, reason };
}

function descriptor(rcl: RosTransport['rcl'], spec: ParameterSpec): Rcl.ParameterDescriptor {
  const unset = spec.unset === undefined ? '' : ` (${JSON.stringify(spec.unset)}: not set, the model's own default)`;
  const when = spec.runtime ? '' : ' [read at configure]';
  const d = new rcl.ParameterDescriptor(spec.name, TYPE[spec.kind] as Rcl.ParameterType, `${spec.description}${unset}${when}`, false);
  if (spec.range) {
    // rclnodejs 2.2.0 describes a range from `_rangeConstraint`, which its API never sets, with
    // fields the message lacks; and it checks `range` with an unreadable reason ("does not
    // readonly"). So the range is described here, and checked by the config schema (same bounds).
    const { from, to } = spec.range;
    const range =
      spec.kind === 'integer'
        ? Object.assign(new rcl.IntegerRange(BigInt(from), BigInt(to), 1n), { from_value: BigInt(from), to_value: BigInt(to) })
        : Object.assign(new rcl.FloatingPointRange(from, to, 0), { from_value: from, to_value: to });
    (d as unknown as { _rangeConstraint: unknown })._rangeConstraint = range;
  }
  if (spec.choices) d.additionalConstraints = `one of: ${spec.choices.join(', ')}`;
  return d;
}
