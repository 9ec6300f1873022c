/**
 * What the reconciliation page says: each kind of mismatch and each ledger problem in plain
 * words, and a message for every way running the reconciliation can fail.
 */
import type { ReconciliationMismatchKind } from '../gql/graphql';
import { describeError, type Described, type ErrorCode, type FailureLike } from '../lib/errors';

/** Every kind of disagreement a service reports, in the schema's order. */
export const MISMATCH_KINDS: readonly ReconciliationMismatchKind[] = [
  'MISSING_POSTING',
  'UNEXPECTED_POSTING',
  'DUPLICATE_POSTING',
  'AMOUNT_DIFFERS',
  'ACCOUNT_DIFFERS',
  'UNKNOWN_REFERENCE',
  'UNEXPLAINED_BALANCE',
  'STUCK',
  'RECORDS_DISAGREE',
];

export const MISMATCH_KIND_LABELS: Readonly<Record<ReconciliationMismatchKind, string>> = {
  MISSING_POSTING: 'Recorded as moved, missing in the ledger',
  UNEXPECTED_POSTING: 'Moved in the ledger, recorded as not moved',
  DUPLICATE_POSTING: 'Posted more than once',
  AMOUNT_DIFFERS: 'Amounts differ',
  ACCOUNT_DIFFERS: 'Accounts differ',
  UNKNOWN_REFERENCE: 'In the ledger, unknown to the service',
  UNEXPLAINED_BALANCE: 'Internal account balance unexplained',
  STUCK: 'Stuck between states',
  RECORDS_DISAGREE: 'The service’s own records disagree',
};

/** A kind in words; one the app does not know yet ("NEW_KIND") as "New kind", never a code. */
export function mismatchKindLabel(kind: string): string {
  const known = (MISMATCH_KIND_LABELS as Readonly<Record<string, string>>)[kind];
  if (known) return known;
  const words = kind.toLowerCase().replace(/_+/g, ' ').trim();
  return words ? words[0].toUpperCase() + words.slice(1) : 'Unknown mismatch';
}

/** The ledger's own checks: what each list in its report means, for one row of the table. */
export type LedgerProblemKind = 'NOT_ZERO' | 'BALANCE' | 'HOLDS' | 'UNBALANCED' | 'OVERDRAWN';

export const LEDGER_PROBLEM_LABELS: Readonly<Record<LedgerProblemKind, string>> = {
  NOT_ZERO: 'Currency does not sum to zero',
  BALANCE: 'Balance differs from its postings',
  HOLDS: 'Held amount differs from its holds',
  UNBALANCED: 'Transaction does not balance',
  OVERDRAWN: 'Overdrawn beyond its limit',
};

export const LEDGER_PROBLEM_DETAILS: Readonly<Record<Exclude<LedgerProblemKind, 'NOT_ZERO'>, string>> = {
  BALANCE: 'The account’s balance is not the sum of its postings.',
  HOLDS: 'The amount held on the account is not the sum of its pending holds.',
  UNBALANCED: 'The transaction’s postings do not add up to zero.',
  OVERDRAWN: 'The customer account is beyond its overdraft limit.',
};

/** Messages that say more than the app-wide ones (lib/errors.ts) when the reconciliation fails. */
export const RECONCILIATION_ERROR_OVERRIDES: Partial<Record<ErrorCode, string>> = {
  FORBIDDEN: 'Only tellers and administrators can see the reconciliation.',
  NOT_FOUND: 'A part of the reconciliation could not be found. Try again in a moment.',
  INTERNAL: 'The reconciliation could not be run just now. Nothing was changed; try again in a moment.',
};

/** Why the reconciliation could not be shown, as one message (network and rate limits included). */
export function describeReconciliationError(failure: FailureLike | null | undefined): Described {
  return describeError(failure, RECONCILIATION_ERROR_OVERRIDES);
}
