import { formatIssues, InputError, SdkError } from '../../sdk/errors.ts';

/** Any failure to read an incoming message → a typed `input_invalid` (zod issues formatted the SDK's way). */
export function asInputError(err: unknown): SdkError {
  if (err instanceof SdkError) return err;
  const issues = (err as { issues?: { path: PropertyKey[]; message: string }[] } | undefined)?.issues;
  if (issues) return new InputError('input_invalid', `malformed message: ${formatIssues(issues).text}`, { cause: err });
  return new InputError('input_invalid', (err as Error)?.message ?? String(err), { cause: err });
}

/** A cancelled plan (a newer goal, an action cancel, shutdown) is not a failure. */
export function isCancellation(err: unknown): boolean {
  return err instanceof SdkError && err.code === 'aborted';
}
