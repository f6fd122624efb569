/**
 * `emu-robotics/bridge`: the ROS 2 side. A config (YAML or object) → `createBridge` → a running
 * pipeline that takes camera frames and goals from a transport, runs the closed loop and publishes
 * plans, subgoals and status back.
 *
 * @example
 * import { createBridge, parseBridgeConfig } from 'emu-robotics/bridge';
 * const bridge = await createBridge(parseBridgeConfig({ transport: 'ros', model: { dir: 'models/emu-nano' }, topics: { feedback: '/emu/feedback' } }));
 * // … later
 * await bridge.close();
 */

// Building and running a bridge
export { createBridge } from './createBridge.ts';
export type { Bridge, BridgeParts } from './createBridge.ts';
export { BridgeLifecycle, LifecycleError, LIFECYCLE_STATES, LIFECYCLE_TRANSITIONS } from './BridgeLifecycle.ts';
export type { LifecycleState, LifecycleTransition, LifecycleEvent } from './BridgeLifecycle.ts';
export { BridgePipeline } from './pipeline/BridgePipeline.ts';
export type { BridgePipelineOptions } from './pipeline/BridgePipeline.ts';
export { BridgeConfigSchema, parseBridgeConfig, loadBridgeConfigFile, mergeConfig } from './pipeline/BridgeConfig.ts';
export type { BridgeConfig, BridgeConfigInput } from './pipeline/BridgeConfig.ts';
export { consoleLogger } from './pipeline/StatusReporter.ts';
export type { Logger, Counter } from './pipeline/StatusReporter.ts';

// Transports: where a new one goes (implement `Transport`)
export { TRANSPORT_KINDS } from './transports/Transport.ts';
export type { Transport, TransportKind, TopicSpec, QosName, TransportProblem, PlanTaskHandler, ActionContext } from './transports/Transport.ts';
export { MemoryTransport } from './transports/MemoryTransport.ts';
export type { PublishedMessage, MemoryTransportOptions } from './transports/MemoryTransport.ts';
export { McapTransport } from './transports/McapTransport.ts';
export type { McapTransportOptions, ReplayOptions, ReplayStats } from './transports/McapTransport.ts';
export { RosTransport } from './transports/RosTransport.ts';
export type { RosTransportOptions } from './transports/RosTransport.ts';
export { BagWriter } from './transports/BagWriter.ts';
export type { BagWriterOptions } from './transports/BagWriter.ts';
export { readBag } from './transports/readBag.ts';
export type { BagMessage, BagSummary } from './transports/readBag.ts';
export type { ChunkCompression } from './transports/mcapCompression.ts';

// The wire: message shapes, and the plan ↔ ROS conversion at the bridge's edge
export type { RosMessage, RosTypeName } from './messages/rosSchemas.ts';
export type { ImageMsg, CompressedImageMsg, StringMsg, PlanMsg, SubgoalMsg, BridgeStatusMsg, BridgeState, PlanTaskGoal, PlanTaskFeedback, PlanTaskResult } from './messages/rosTypes.ts';
export { SUBGOAL_STATUS_CODES, BRIDGE_STATES } from './messages/rosTypes.ts';
export { planToRos, subgoalToRos } from './messages/planToRos.ts';
export { feedbackToRos, feedbackFromRos, FeedbackWireSchema } from './messages/controllerFeedback.ts';
export type { FeedbackWire } from './messages/controllerFeedback.ts';
export { imageFromRos, imageFromCompressedRos, DEFAULT_FRAME_LIMITS, SUPPORTED_RAW_ENCODINGS } from './messages/imageFromRos.ts';
export type { FrameLimits } from './messages/imageFromRos.ts';
