/**
 * What the payment screens say: a message for every error code in each place a payment
 * operation can fail, the service's `BAD_USER_INPUT` complaints in words next to the field they
 * name, the words for a payment's status, and why one failed or came back; a standing order's
 * schedule, where it stands and what it has paid.
 */
import { dayOfMonth, formatDate, ordinal, weekdayOf } from '../lib/dates';
import { describeError, sentence, type Described, type ErrorCode, type FailureLike } from '../lib/errors';
import { formatMoney } from '../lib/money';
import { END_BEFORE_START, START_IN_PAST, START_TOO_FAR } from './rules';

/** Where a payment operation failed. */
export type PaymentContext = 'load' | 'addPayee' | 'removePayee' | 'send' | 'setUpStandingOrder' | 'cancelStandingOrder';

export const PAYMENT_CONTEXTS: readonly PaymentContext[] = [
  'load',
  'addPayee',
  'removePayee',
  'send',
  'setUpStandingOrder',
  'cancelStandingOrder',
];

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
    case 'setUpStandingOrder':
      return {
        NOT_FOUND: 'We could not find that account among yours. Choose one of your accounts.',
        INSUFFICIENT_FUNDS: 'We could not set up this standing order. Please try again.',
        ACCOUNT_NOT_ACTIVE: 'That account is frozen or closed, so it cannot pay a standing order. Choose another account.',
        CURRENCY_MISMATCH: `A standing order from this account can only pay in ${currency}, the account’s currency.`,
        LIMIT_EXCEEDED: 'You have 20 active standing orders, the most you can have. Cancel one you no longer need first.',
        IDEMPOTENCY_KEY_REUSED: 'This standing order was already set up with different details. Check the form and set it up again.',
        FORBIDDEN: 'You are not allowed to set up standing orders from that account.',
      };
    case 'cancelStandingOrder':
      return {
        NOT_FOUND: 'That standing order is no longer there. Reload the page to see your standing orders.',
        FORBIDDEN: 'You are not allowed to cancel this standing order.',
        BAD_USER_INPUT: 'We could not cancel this standing order. Reload the page and try again.',
        INSUFFICIENT_FUNDS: 'We could not cancel this standing order. Please try again.',
        ACCOUNT_NOT_ACTIVE: 'We could not cancel this standing order while your account is frozen or closed.',
        CURRENCY_MISMATCH: 'We could not cancel this standing order because of a currency problem. Please try again.',
        IDEMPOTENCY_KEY_REUSED: 'This standing order changed in the meantime. Reload the page and try again.',
        LIMIT_EXCEEDED: 'Too many changes to your standing orders at once. Wait a moment and try again.',
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
  frequency: 'Choose how often to pay: every week or every month.',
  endOn: END_BEFORE_START,
};

/** The same, where they say more for a standing order. */
const STANDING_ORDER_FIELD_MESSAGES: Record<string, string> = {
  idempotencyKey: 'Something went wrong setting up this standing order. Please set it up again.',
};

const PAYEE_GONE = 'That payee is no longer saved. Choose another, or enter the name and IBAN.';

/** The service's complaint about a standing order's first date: in the past, or too far ahead. */
function startOnMessage(serverMessage: string): string | undefined {
  if (/\bpast\b/i.test(serverMessage)) return START_IN_PAST;
  if (/\byear\b/i.test(serverMessage)) return START_TOO_FAR;
  return undefined;
}

/** A failed payment operation as one message for people (and the field it concerns, if any). */
export function describePaymentError(failure: FailureLike | null | undefined, context: PaymentContext, currency?: string): Described {
  const described = describeError(failure, paymentErrorOverrides(context, currency));
  const serverMessage = failure?.graphQLErrors?.[0]?.message ?? '';
  const paying = context === 'send' || context === 'setUpStandingOrder';
  if (described.code === 'NOT_FOUND' && paying && /\bpayee\b/i.test(serverMessage)) {
    return { ...described, message: PAYEE_GONE, field: 'payeeId' };
  }
  if (described.code !== 'BAD_USER_INPUT' || context === 'removePayee' || context === 'cancelStandingOrder') return described;
  const start = described.field === 'startOn' ? startOnMessage(serverMessage) : undefined;
  if (start) return { ...described, message: start };
  const field = described.field;
  const fixed = field ? ((context === 'setUpStandingOrder' && STANDING_ORDER_FIELD_MESSAGES[field]) || FIELD_MESSAGES[field]) : undefined;
  if (fixed) return { ...described, message: fixed };
  // The amount's wording names the problem ("EUR amounts have at most 2 decimals").
  return { ...described, message: sentence(serverMessage.replace(/^the payment failed: /i, '')) || described.message };
}

/** The send form's fields each way of naming the recipient shows. */
const SEND_FIELDS: Record<'payee' | 'new', readonly string[]> = {
  payee: ['fromAccountId', 'payeeId', 'amount', 'remittance'],
  new: ['fromAccountId', 'creditorName', 'creditorIban', 'amount', 'remittance'],
};

/** The fields the send form shows besides those when it sets up a standing order. */
const REPEAT_FIELDS: readonly string[] = ['frequency', 'startOn', 'endOn'];

/**
 * Which field of the send form an error belongs next to, or undefined for the form as a whole
 * (including a field the form does not show as it stands: a payee removed elsewhere while the
 * person typed someone new). `repeat`: the form sets up a standing order (it shows its dates).
 */
export function sendErrorField(described: Described, recipient: 'payee' | 'new', repeat = false): string | undefined {
  let field: string | undefined;
  if (described.code === 'BAD_USER_INPUT') field = described.field;
  else if (described.code === 'ACCOUNT_NOT_ACTIVE' || described.code === 'CURRENCY_MISMATCH') field = 'fromAccountId';
  else if (described.code === 'NOT_FOUND') field = described.field === 'payeeId' ? 'payeeId' : 'fromAccountId';
  if (!field) return undefined;
  return SEND_FIELDS[recipient].includes(field) || (repeat && REPEAT_FIELDS.includes(field)) ? field : undefined;
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

export interface StandingOrderLike {
  creditorName: string;
  amount: { amount: string; currency: string };
  frequency: string;
  startOn: string;
  endOn?: string | null;
  nextRunOn?: string | null;
  lastRunOn?: string | null;
  runs: number;
  status: string;
}

/** "every month", "every week": how often, inside a sentence. */
export const everyText = (frequency: string) => (frequency === 'WEEKLY' ? 'every week' : 'every month');

/**
 * When a standing order pays: "Monthly on the 25th", "Weekly on Wednesdays" (the first date's
 * day, like the service); "Monthly on the 31st (the last day in shorter months)".
 */
export function scheduleText(order: Pick<StandingOrderLike, 'frequency' | 'startOn'>): string {
  if (order.frequency === 'WEEKLY') {
    const weekday = weekdayOf(order.startOn);
    return weekday ? `Weekly on ${weekday}s` : 'Weekly';
  }
  const day = dayOfMonth(order.startOn);
  if (!day) return 'Monthly';
  return day > 28 ? `Monthly on the ${ordinal(day)} (the last day in shorter months)` : `Monthly on the ${ordinal(day)}`;
}

export const STANDING_ORDER_STATUS_LABELS: Record<string, string> = {
  ACTIVE: 'Active',
  CANCELLED: 'Cancelled',
  ENDED: 'Ended',
};

/** "Next: 25 Dec 2026" while it pays, else "Cancelled" or "Ended". */
export function standingOrderStatusText(order: Pick<StandingOrderLike, 'status' | 'nextRunOn'>): string {
  if (order.status === 'ACTIVE' && order.nextRunOn) return `Next: ${formatDate(order.nextRunOn)}`;
  return STANDING_ORDER_STATUS_LABELS[order.status] ?? order.status;
}

/**
 * "No payment made yet", "1 payment made", "3 payments made": the dates it has paid (one refused
 * for want of money counts too; its payment is listed as not sent).
 */
export function runsText(runs: number): string {
  if (runs <= 0) return 'No payment made yet';
  return runs === 1 ? '1 payment made' : `${runs} payments made`;
}

/** "First payment 25 Nov 2026 · until you cancel it", or "... · last 25 Nov 2027". */
export function periodText(order: Pick<StandingOrderLike, 'startOn' | 'endOn'>): string {
  const until = order.endOn ? `last ${formatDate(order.endOn)}` : 'until you cancel it';
  return `First payment ${formatDate(order.startOn)} · ${until}`;
}

/** "Standing order to Landlord set up: 30.00 EUR every month from 25 Nov 2026." */
export function setUpText(order: StandingOrderLike): string {
  const money = formatMoney(order.amount.amount, order.amount.currency);
  return `Standing order to ${order.creditorName} set up: ${money} ${everyText(order.frequency)} from ${formatDate(order.startOn)}.`;
}

/** "Stop paying Landlord 30.00 EUR every month?" */
export function cancelQuestion(order: StandingOrderLike): string {
  return `Stop paying ${order.creditorName} ${formatMoney(order.amount.amount, order.amount.currency)} ${everyText(order.frequency)}?`;
}

/** What cancelling said: cancelled, or over already (cancelling changes nothing then). */
export function cancelledText(order: Pick<StandingOrderLike, 'creditorName' | 'status'>): string {
  if (order.status === 'ENDED') return `The standing order to ${order.creditorName} had already ended.`;
  return `Standing order to ${order.creditorName} cancelled.`;
}
