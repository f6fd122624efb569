/**
 * One error base for the whole SDK. `code` is a literal union so callers can switch on it;
 * messages carry the ids and expected-vs-actual values that make a log line actionable.
 */
export type SdkErrorCode =
  | 'config_invalid'
  | 'model_missing'
  | 'model_mismatch'
  | 'input_invalid'
  | 'image_invalid'
  | 'context_overflow'
  | 'engine_failed'
  | 'truncated'
  | 'aborted'
  | 'timeout'
  | 'transport_failed'
  | 'overloaded'
  | 'unknown_task';

/** One zod issue at a boundary: where (path into the value) and what. */
export interface ValidationIssue {
  path: (string | number)[];
  message: string;
}

/** Base of every error the SDK throws: switch on `code` (a literal union), never on the message. */
export class SdkError extends Error {
  readonly code: SdkErrorCode;
  constructor(code: SdkErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A value at an external boundary failed its zod schema. `issues` keeps the structured detail. */
export class ConfigError extends SdkError {
  readonly issues: ValidationIssue[];
  constructor(message: string, issues: ValidationIssue[] = [], options?: { cause?: unknown }) {
    super('config_invalid', message, options);
    this.issues = issues;
  }
}

/** A model folder, manifest or ONNX file is absent or does not match the contract. */
export class ModelError extends SdkError {
  constructor(code: 'model_missing' | 'model_mismatch', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Caller-supplied data (text, images, parameters) cannot be used. */
export class InputError extends SdkError {
  constructor(code: 'input_invalid' | 'image_invalid' | 'context_overflow' | 'unknown_task', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A generation ran out of its token budget before its output was whole (a plan cut off, an image half drawn). */
export class TruncatedError extends SdkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('truncated', message, options);
  }
}

/** The runtime failed while running a model. */
export class EngineError extends SdkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('engine_failed', message, options);
  }
}

/** Work stopped because its AbortSignal fired or its subscriber left; `cause` keeps the signal's reason. */
export class AbortError extends SdkError {
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super('aborted', message, options);
  }
}

/** Something the caller waits for did not come in time (e.g. a camera frame). */
export class TimeoutError extends SdkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('timeout', message, options);
  }
}

/**
 * A transport (ROS 2, MCAP file, remote host) could not deliver or be opened. `retryable`: the same
 * request may succeed if sent again (a dropped connection), as opposed to a refusal (a bad token).
 */
export class TransportError extends SdkError {
  readonly retryable: boolean;
  constructor(message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super('transport_failed', message, options);
    this.retryable = options?.retryable ?? false;
  }
}

/** A server has no room for the request now (its queue is full): retry later or elsewhere. */
export class OverloadedError extends SdkError {
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super('overloaded', message, options);
  }
}

/**
 * The SdkError subclass for a code, as an error that crossed a process boundary (a remote engine)
 * is rebuilt on this side: callers catch the same classes whether the backend is local or not.
 */
export function errorFromCode(code: string, message: string, extra: { issues?: ValidationIssue[]; retryable?: boolean } = {}): SdkError {
  switch (code as SdkErrorCode) {
    case 'config_invalid':
      return new ConfigError(message, extra.issues ?? []);
    case 'model_missing':
    case 'model_mismatch':
      return new ModelError(code as 'model_missing', message);
    case 'input_invalid':
    case 'image_invalid':
    case 'context_overflow':
    case 'unknown_task':
      return new InputError(code as 'input_invalid', message);
    case 'truncated':
      return new TruncatedError(message);
    case 'engine_failed':
      return new EngineError(message);
    case 'aborted':
      return new AbortError(message);
    case 'timeout':
      return new TimeoutError(message);
    case 'overloaded':
      return new OverloadedError(message);
    case 'transport_failed':
      return new TransportError(message, { retryable: extra.retryable ?? false });
    default:
      return new EngineError(`${code}: ${message}`);
  }
}

/** Turns zod issues into our issue shape plus one readable line per issue. */
export function formatIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): {
  issues: ValidationIssue[];
  text: string;
} {
  const mapped = issues.map((i) => ({
    path: i.path.map((p) => (typeof p === 'number' ? p : String(p))),
    message: i.message,
  }));
  const text = mapped.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
  return { issues: mapped, text };
}

/** Parses `value` with `schema`, throwing a ConfigError naming `what` on failure. */
export function parseOrThrow<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } } },
  value: unknown,
  what: string,
): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const { issues, text } = formatIssues(r.error.issues);
  throw new ConfigError(`Invalid ${what}: ${text}`, issues);
}

/** Throws AbortError (with the signal's reason as cause) when `signal` has fired. */
export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortError('The operation was aborted', { cause: signal.reason });
}
