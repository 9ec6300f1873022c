/**
 * What the direct debit screens say: a message for every error code in each place a mandate or
 * direct debit operation can fail, the service's `BAD_USER_INPUT` complaints in words next to the
 * field they name, the words for each status, and why a collection was refused.
 */
import { formatDay } from '../lib/dates';
import { describeError, sentence, type Described, type ErrorCode, type FailureLike } from '../lib/errors';
import { REFERENCE_TAKEN } from './rules';

/** Where a direct debit operation failed. */
export type DirectDebitContext = 'load' | 'createMandate' | 'revokeMandate' | 'refund';

export const DIRECT_DEBIT_CONTEXTS: readonly DirectDebitContext[] = ['load', 'createMandate', 'revokeMandate', 'refund'];

/** Messages that say more than the app-wide ones (lib/errors.ts) for a code in a context. */
export function directDebitErrorOverrides(context: DirectDebitContext): Partial<Record<ErrorCode, string>> {
  switch (context) {
    case 'load':
      return {
        NOT_FOUND: 'We could not find that direct debit.',
        FORBIDDEN: 'You are not allowed to see these direct debits.',
      };
    case 'createMandate':
      return {
        NOT_FOUND: 'We could not find that account among yours. Choose one of your accounts.',
        LIMIT_EXCEEDED: 'You have 50 active mandates, the most you can keep. Revoke one you no longer need first.',
        FORBIDDEN: 'You are not allowed to give mandates for that account.',
        INSUFFICIENT_FUNDS: 'We could not record this mandate. Please try again.',
        ACCOUNT_NOT_ACTIVE: 'That account is frozen or closed, so no creditor can collect from it. Choose another account.',
        CURRENCY_MISMATCH: 'The limit must be in the account’s currency.',
        IDEMPOTENCY_KEY_REUSED: 'This mandate was just recorded with different details. Check the list and try again.',
      };
    case 'revokeMandate':
      return {
        NOT_FOUND: 'That mandate is no longer there. Reload the page to see your mandates.',
        FORBIDDEN: 'You are not allowed to revoke this mandate.',
        BAD_USER_INPUT: 'We could not revoke this mandate. Reload the page and try again.',
        INSUFFICIENT_FUNDS: 'We could not revoke this mandate. Please try again.',
        ACCOUNT_NOT_ACTIVE: 'We could not revoke this mandate while your account is frozen or closed.',
        CURRENCY_MISMATCH: 'We could not revoke this mandate because of a currency problem. Please try again.',
        IDEMPOTENCY_KEY_REUSED: 'This mandate changed in the meantime. Reload the page and try again.',
        LIMIT_EXCEEDED: 'Too many changes to your mandates at once. Wait a moment and try again.',
      };
    case 'refund':
      return {
        NOT_FOUND: 'We could not find that direct debit. Reload the page and try again.',
        FORBIDDEN: 'Only the account holder can get a direct debit refunded.',
        INSUFFICIENT_FUNDS: 'We could not refund this direct debit just now. Please try again.',
        ACCOUNT_NOT_ACTIVE: 'That account is frozen or closed, so the money cannot go back to it yet.',
        CURRENCY_MISMATCH: 'We could not refund this direct debit because of a currency problem. Please try again.',
        IDEMPOTENCY_KEY_REUSED: 'This direct debit changed in the meantime. Reload the page and try again.',
        LIMIT_EXCEEDED: 'Too many refunds at once. Wait a moment and try again.',
      };
  }
}

/** The service's complaint about each mandate field, in words for people. */
const FIELD_MESSAGES: Record<string, string> = {
  creditorId: 'This is not a valid creditor identifier. Check it for a mistyped or missing character.',
  creditorName: 'Enter the creditor’s name: 1 to 70 characters, without line breaks.',
  reference: "Enter the mandate reference: 1 to 35 letters, digits, spaces or / - ? : ( ) . , ' +.",
  accountId: 'Choose one of your accounts.',
};

const REFUND_TOO_LATE = 'The eight weeks in which you could get this money back are over.';
const REFUND_NOT_COLLECTED = 'Only a collected direct debit can be refunded.';

/** A failed direct debit operation as one message for people (and the field it concerns, if any). */
export function describeDirectDebitError(failure: FailureLike | null | undefined, context: DirectDebitContext): Described {
  const described = describeError(failure, directDebitErrorOverrides(context));
  if (described.code !== 'BAD_USER_INPUT' || context === 'revokeMandate') return described;
  const serverMessage = failure?.graphQLErrors?.[0]?.message ?? '';
  if (context === 'refund') {
    return { ...described, message: /eight weeks/i.test(serverMessage) ? REFUND_TOO_LATE : REFUND_NOT_COLLECTED };
  }
  if (described.field === 'reference' && /already has a mandate/i.test(serverMessage)) {
    return { ...described, message: REFERENCE_TAKEN };
  }
  const fixed = described.field ? FIELD_MESSAGES[described.field] : undefined;
  if (fixed) return { ...described, message: fixed };
  // The limit's wording names the problem ("EUR amounts have at most 2 decimals").
  return { ...described, message: sentence(serverMessage) || described.message };
}

/** The mandate form's fields. */
const MANDATE_FIELDS: readonly string[] = ['accountId', 'creditorName', 'creditorId', 'reference', 'maxAmount'];

/** Which field of the mandate form an error belongs next to, or undefined for the form as a whole. */
export function mandateErrorField(described: Described): string | undefined {
  let field: string | undefined;
  if (described.code === 'BAD_USER_INPUT') field = described.field;
  else if (described.code === 'NOT_FOUND' || described.code === 'ACCOUNT_NOT_ACTIVE') field = 'accountId';
  else if (described.code === 'CURRENCY_MISMATCH') field = 'maxAmount';
  return field && MANDATE_FIELDS.includes(field) ? field : undefined;
}

export const MANDATE_STATUS_LABELS: Record<string, string> = {
  ACTIVE: 'Active',
  REVOKED: 'Revoked',
};

/** "Active", or "Revoked on 25 Nov 2026". */
export function mandateStatusText(mandate: { status: string; revokedAt?: string | null }): string {
  if (mandate.status === 'REVOKED') return mandate.revokedAt ? `Revoked on ${formatDay(mandate.revokedAt)}` : 'Revoked';
  return MANDATE_STATUS_LABELS[mandate.status] ?? mandate.status;
}

export const DIRECT_DEBIT_STATUS_LABELS: Record<string, string> = {
  PENDING: 'Being collected',
  COLLECTED: 'Collected',
  REFUSED: 'Refused',
  REFUNDING: 'Being refunded',
  REFUNDED: 'Refunded — money back in your account',
};

/** Statuses that change by themselves soon (the ledger or the worker is at work). */
export const IN_FLIGHT: ReadonlySet<string> = new Set(['PENDING', 'REFUNDING']);

export const isInFlight = (status: string) => IN_FLIGHT.has(status);

/** Why a collection was refused, by its `failureCode`. */
export const FAILURE_TEXT: Readonly<Record<string, string>> = {
  NO_MANDATE: 'You gave this creditor no mandate with this reference.',
  MANDATE_REVOKED: 'You had revoked the mandate.',
  AMOUNT_ABOVE_LIMIT: "Above the mandate's limit.",
  CURRENCY_MISMATCH: 'Not in the currency of the account.',
  INSUFFICIENT_FUNDS: 'Not enough money in the account.',
  ACCOUNT_NOT_ACTIVE: 'The account was frozen or closed.',
};

/** Why a collection was refused: words for the codes the service gives, else its own reason. */
export function refusalText(code: string | null | undefined, reason?: string | null): string {
  const known = code ? FAILURE_TEXT[code] : undefined;
  return known ?? (sentence(reason ?? '') || 'The bank did not let the creditor collect this.');
}

export interface DirectDebitLike {
  status: string;
  failureCode?: string | null;
  failureReason?: string | null;
  refundableUntil?: string | null;
}

/** Whether the account holder can still have this collection refunded (`now` in milliseconds). */
export function canRefund(debit: DirectDebitLike, now: number): boolean {
  if (debit.status !== 'COLLECTED' || !debit.refundableUntil) return false;
  const until = Date.parse(debit.refundableUntil);
  return !Number.isNaN(until) && until > now;
}

/** What the account holder is told about where a collection stands. */
export function directDebitNote(debit: DirectDebitLike, now: number): string {
  switch (debit.status) {
    case 'PENDING':
      return 'The creditor is collecting this from your account.';
    case 'COLLECTED':
      return canRefund(debit, now)
        ? `You can get this money back until ${formatDay(debit.refundableUntil!)}.`
        : 'The creditor has the money.';
    case 'REFUSED':
      return `${refusalText(debit.failureCode, debit.failureReason)} No money left your account.`;
    case 'REFUNDING':
      return 'The money is on its way back to your account.';
    case 'REFUNDED':
      return 'You had this collection refunded: the money is back in your account.';
    default:
      return '';
  }
}
