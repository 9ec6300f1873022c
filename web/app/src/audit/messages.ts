/**
 * What the audit trail page says when the trail cannot be read: a message for every way reading
 * it can fail, a customer or teller refused (`FORBIDDEN`: administrators only) included.
 */
import { describeError, type Described, type ErrorCode, type FailureLike } from '../lib/errors';

/** Messages that say more than the app-wide ones (lib/errors.ts) when reading the trail fails. */
export const AUDIT_ERROR_OVERRIDES: Partial<Record<ErrorCode, string>> = {
  FORBIDDEN: 'Only administrators can read the audit trail.',
  NOT_FOUND: 'A part of the audit trail could not be found. Try again in a moment.',
  INTERNAL: 'The audit trail could not be read just now. Nothing was changed; try again in a moment.',
};

/** Why the audit trail could not be shown, as one message (network and rate limits included). */
export function describeAuditError(failure: FailureLike | null | undefined): Described {
  return describeError(failure, AUDIT_ERROR_OVERRIDES);
}
