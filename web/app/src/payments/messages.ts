/**
 * What the payment screens say: a message for every error code in each place a payment
 * operation can fail, the service's `BAD_USER_INPUT` complaints in words next to the field they
 * name, the words for a payment's status, and why one failed or came back.
 */
import { describeError, sentence, type Described, type ErrorCode, type FailureLike } from '../lib/errors';

/** Where a payment operation failed. */
export type PaymentContext = 'load' | 'addPayee' | 'removePayee' | 'send';

export const PAYMENT_CONTEXTS: readonly PaymentContext[] = ['load', 'addPayee', 'removePayee', 'send'];

/** Messages that say more than the app-wide ones (lib/errors.ts) for a code in a context. */
export function paymentErrorOverrides(context: PaymentContext, currency = 'the account’s currency'): Partial<Record<ErrorCode, string>> {
  switch (context) {
    case 'load':
      return {
        NOT_FOUND: 'We could not find that payment.',
        FORBIDDEN: 'You are not allowed to see these payments.',
      };
    case 'addPayee':
      return {
        LIMIT_EXCEEDED: 'You have 100 payees, the most you can keep. Remove one you no longer need first.',
        FORBIDDEN: 'You are not allowed to add payees.',
        NOT_FOUND: 'We could not save this payee. Reload the page and try again.',
        INSUFFICIENT_FUNDS: 'We could not save this payee. Please try again.',
        ACCOUNT_NOT_ACTIVE: 'We could not save this payee while your account is frozen or closed.',
        CURRENCY_MISMATCH: 'We could not save this payee because of a currency problem. Please try again.',
        IDEMPOTENCY_KEY_REUSED: 'This payee was just saved with different details. Check the list and try again.',
      };
    case 'removePayee':
      return {
        NOT_FOUND: 'That payee was already removed.',
        FORBIDDEN: 'You are not allowed to remove this payee.',
        BAD_USER_INPUT: 'We could not remove this payee. Reload the page and try again.',
        INSUFFICIENT_FUNDS: 'We could not remove this payee. Please try again.',
        ACCOUNT_NOT_ACTIVE: 'We could not remove this payee while your account is frozen or closed.',
        CURRENCY_MISMATCH: 'We could not remove this payee because of a currency problem. Please try again.',
        IDEMPOTENCY_KEY_REUSED: 'This payee changed in the meantime. Reload the page and try again.',
        LIMIT_EXCEEDED: 'Too many changes to your payees at once. Wait a moment and try again.',
      };
    case 'send':
      return {
        NOT_FOUND: 'We could not find that account among yours. Choose one of your accounts.',
        INSUFFICIENT_FUNDS: 'There is not enough money in the account to send this. Send less, or from another account.',
        ACCOUNT_NOT_ACTIVE: 'That account is frozen or closed, so no money can leave it. Choose another account.',
        CURRENCY_MISMATCH: `This payment can only be sent in ${currency}, the account’s currency.`,
        LIMIT_EXCEEDED: 'This would go over a limit on the account. Send less today, or from another account.',
        IDEMPOTENCY_KEY_REUSED: 'This payment was already sent with different details. Check the form and send again.',
        FORBIDDEN: 'You are not allowed to send money from that account.',
      };
  }
}

/** The service's complaint about each input field, in words for people. */
const FIELD_MESSAGES: Record<string, string> = {
  iban: 'This is not a valid IBAN. Check it for a mistyped or missing character.',
  creditorIban: 'This is not a valid IBAN. Check it for a mistyped or missing character.',
  name: 'Enter a name of 1 to 70 characters, without line breaks.',
  creditorName: 'Enter a name of 1 to 70 characters, without line breaks.',
  remittance: 'Keep the reference to 140 characters, without line breaks.',
  payeeId: 'Choose a saved payee, or enter a name and an IBAN.',
  idempotencyKey: 'Something went wrong sending this payment. Please send it again.',
};

const PAYEE_GONE = 'That payee is no longer saved. Choose another, or enter the name and IBAN.';

/** A failed payment operation as one message for people (and the field it concerns, if any). */
export function describePaymentError(failure: FailureLike | null | undefined, context: PaymentContext, currency?: string): Described {
  const described = describeError(failure, paymentErrorOverrides(context, currency));
  const serverMessage = failure?.graphQLErrors?.[0]?.message ?? '';
  if (described.code === 'NOT_FOUND' && context === 'send' && /\bpayee\b/i.test(serverMessage)) {
    return { ...described, message: PAYEE_GONE, field: 'payeeId' };
  }
  if (described.code !== 'BAD_USER_INPUT' || context === 'removePayee') return described;
  const fixed = described.field ? FIELD_MESSAGES[described.field] : undefined;
  if (fixed) return { ...described, message: fixed };
  // The amount's wording names the problem ("EUR amounts have at most 2 decimals").
  return { ...described, message: sentence(serverMessage.replace(/^the payment failed: /i, '')) || described.message };
}

/** The send form's fields each way of naming the recipient shows. */
const SEND_FIELDS: Record<'payee' | 'new', readonly string[]> = {
  payee: ['fromAccountId', 'payeeId', 'amount', 'remittance'],
  new: ['fromAccountId', 'creditorName', 'creditorIban', 'amount', 'remittance'],
};

/**
 * Which field of the send form an error belongs next to, or undefined for the form as a whole
 * (including a field the form does not show as it stands: a payee removed elsewhere while the
 * person typed someone new).
 */
export function sendErrorField(described: Described, recipient: 'payee' | 'new'): string | undefined {
  let field: string | undefined;
  if (described.code === 'BAD_USER_INPUT') field = described.field;
  else if (described.code === 'ACCOUNT_NOT_ACTIVE' || described.code === 'CURRENCY_MISMATCH') field = 'fromAccountId';
  else if (described.code === 'NOT_FOUND') field = described.field === 'payeeId' ? 'payeeId' : 'fromAccountId';
  return field && SEND_FIELDS[recipient].includes(field) ? field : undefined;
}

export const PAYMENT_STATUS_LABELS: Record<string, string> = {
  PENDING: 'Processing',
  QUEUED: 'Sent',
  SUBMITTED: 'On its way',
  COMPLETED: 'Completed',
  FAILED: 'Not sent',
  RETURNING: 'Coming back',
  RETURNED: 'Returned — money back in your account',
};

/** Statuses that change by themselves soon (the ledger, the gateway or the other bank is at work). */
export const IN_FLIGHT: ReadonlySet<string> = new Set(['PENDING', 'QUEUED', 'SUBMITTED', 'RETURNING']);

export const isInFlight = (status: string) => IN_FLIGHT.has(status);

/** Why the ledger refused a payment's debit, by its `failureCode`. */
const FAILURE_TEXT: Record<string, string> = {
  INSUFFICIENT_FUNDS: 'There was not enough money in the account.',
  ACCOUNT_NOT_ACTIVE: 'The account was frozen or closed.',
  CURRENCY_MISMATCH: 'The account is not in the payment’s currency.',
  LIMIT_EXCEEDED: 'It would have gone over a limit on the account.',
  NOT_FOUND: 'The account could not be found.',
  FORBIDDEN: 'The account is not one you can pay from.',
};

/** Why a payment failed (no money moved), from its `failureCode`. */
export function paymentFailureText(code: string | null | undefined): string {
  const why = code ? FAILURE_TEXT[code] : undefined;
  return why ? `${why} No money left your account.` : 'The payment could not be sent; no money left your account.';
}

export interface PaymentLike {
  status: string;
  failureCode?: string | null;
  failureReason?: string | null;
}

/** What the payer is told about where a payment stands. */
export function paymentStatusNote(payment: PaymentLike): string {
  const reason = payment.failureReason?.trim();
  const because = reason ? `: ${reason.replace(/[.!]+$/, '')}` : '';
  switch (payment.status) {
    case 'PENDING':
      return 'We are taking the money from your account.';
    case 'QUEUED':
      return 'The money has left your account and is on its way to the other bank.';
    case 'SUBMITTED':
      return 'The payment network has it; the other bank will have the money shortly.';
    case 'COMPLETED':
      return 'The other bank has the money.';
    case 'FAILED':
      return paymentFailureText(payment.failureCode);
    case 'RETURNING':
      return `The other bank did not take the payment${because}. The money is on its way back to your account.`;
    case 'RETURNED':
      return `The other bank did not take the payment${because}. The money is back in your account.`;
    default:
      return '';
  }
}
