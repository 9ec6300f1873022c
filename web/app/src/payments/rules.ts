/**
 * The payment forms' checks, pure: the same rules the payments service applies (names of 1 to
 * 70 characters, IBANs by their check digits, at most 140 characters of reference, an amount in
 * the account's currency with its decimals, an account that can pay, a standing order's first
 * date from today to a year ahead and its last not before its first), so people learn what is
 * wrong next to the field without a round trip. The service checks everything again.
 */
import { addDays, isCalendarDate } from '../lib/dates';
import { parseAmount } from '../lib/money';
import type { FieldErrors } from '../lib/validation';
import { ibanProblem, normalizeIban } from './iban';

export const MAX_NAME_LENGTH = 70;
export const MAX_REMITTANCE_LENGTH = 140;

// What the service counts as control characters (Unicode's Cc).
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Characters as the service counts them (code points, not UTF-16 units). */
const length = (text: string) => [...text].length;

/** What is wrong with a payee's or creditor's name, or undefined. */
export function nameProblem(input: string): string | undefined {
  const name = input.trim();
  if (!name) return 'Enter the name of the person or business.';
  if (length(name) > MAX_NAME_LENGTH) return `Keep the name to ${MAX_NAME_LENGTH} characters.`;
  if (CONTROL.test(name)) return 'The name cannot contain line breaks or control characters.';
  return undefined;
}

/** What is wrong with the reference the recipient sees, or undefined (it may be empty). */
export function remittanceProblem(input: string): string | undefined {
  const text = input.trim();
  if (length(text) > MAX_REMITTANCE_LENGTH) {
    return `Keep the reference to ${MAX_REMITTANCE_LENGTH} characters (it has ${length(text)}).`;
  }
  if (CONTROL.test(text)) return 'The reference cannot contain line breaks or control characters.';
  return undefined;
}

export interface PayeeLike {
  id: string;
  name: string;
  iban: string;
}

export interface AccountLike {
  id: string;
  currency: string;
  status: string;
}

export interface PayeeForm {
  name: string;
  iban: string;
}

export interface CheckedPayee {
  errors: FieldErrors;
  input?: { name: string; iban: string };
}

export function validatePayee(form: PayeeForm): CheckedPayee {
  const errors: FieldErrors = {};
  const name = nameProblem(form.name);
  if (name) errors.name = name;
  const iban = ibanProblem(form.iban);
  if (iban) errors.iban = iban;
  if (name || iban) return { errors };
  return { errors, input: { name: form.name.trim(), iban: normalizeIban(form.iban) } };
}

/** The saved payee with this IBAN, if any: saving it again renames it. */
export function payeeWithIban<P extends PayeeLike>(payees: readonly P[], iban: string): P | undefined {
  const wanted = normalizeIban(iban);
  return wanted ? payees.find((payee) => normalizeIban(payee.iban) === wanted) : undefined;
}

/** The accounts a payment can leave from: active ones (frozen and closed accounts cannot pay). */
export function payingAccounts<A extends AccountLike>(accounts: readonly A[]): A[] {
  return accounts.filter((account) => account.status === 'ACTIVE');
}

/** To a saved payee, or to someone typed in once (name and IBAN). */
export type Recipient = 'payee' | 'new';

export interface PaymentForm {
  fromAccountId: string;
  recipient: Recipient;
  payeeId: string;
  creditorName: string;
  creditorIban: string;
  amount: string;
  remittance: string;
}

export interface PaymentInput {
  fromAccountId: string;
  payeeId?: string;
  creditorName?: string;
  creditorIban?: string;
  amount: string;
  remittance: string | null;
}

export interface CheckedPayment {
  errors: FieldErrors;
  /** What `sendPayment` gets (with an idempotency key) when the form is valid. */
  input?: PaymentInput;
  /** The currency of the chosen account. */
  currency?: string;
}

export function validatePayment(
  form: PaymentForm,
  accounts: readonly AccountLike[],
  payees: readonly PayeeLike[],
): CheckedPayment {
  const errors: FieldErrors = {};
  const paying = payingAccounts(accounts);
  const account = paying.find((a) => a.id === form.fromAccountId);
  if (paying.length === 0) errors.fromAccountId = 'You need an active account to send money from. Open one first.';
  else if (!account) errors.fromAccountId = 'Choose the account the money leaves from.';

  let recipient: Pick<PaymentInput, 'payeeId' | 'creditorName' | 'creditorIban'> = {};
  if (form.recipient === 'payee') {
    if (!payees.some((payee) => payee.id === form.payeeId)) errors.payeeId = 'Choose who to pay.';
    else recipient = { payeeId: form.payeeId };
  } else {
    const name = nameProblem(form.creditorName);
    if (name) errors.creditorName = name;
    const iban = ibanProblem(form.creditorIban);
    if (iban) errors.creditorIban = iban;
    recipient = { creditorName: form.creditorName.trim(), creditorIban: normalizeIban(form.creditorIban) };
  }

  let amount: string | undefined;
  if (account) {
    const parsed = parseAmount(form.amount, account.currency);
    if (parsed.ok) amount = parsed.amount;
    else errors.amount = parsed.error;
  }

  const remittance = remittanceProblem(form.remittance);
  if (remittance) errors.remittance = remittance;

  if (Object.values(errors).some(Boolean) || !account || amount === undefined) return { errors, currency: account?.currency };
  return {
    errors,
    currency: account.currency,
    input: { fromAccountId: account.id, ...recipient, amount, remittance: form.remittance.trim() || null },
  };
}

/** How often a standing order pays. */
export type Frequency = 'WEEKLY' | 'MONTHLY';

export const FREQUENCIES: readonly Frequency[] = ['WEEKLY', 'MONTHLY'];

/** How far ahead (in days from today, UTC) a standing order's first payment may be. */
export const MAX_START_AHEAD_DAYS = 366;

export const START_IN_PAST = 'The first payment cannot be in the past. Choose today or a later day.';
export const START_TOO_FAR = 'The first payment can be at most a year ahead.';
export const END_BEFORE_START = 'The last payment cannot come before the first.';

/**
 * What is wrong with a standing order's first date ("2026-11-25"), or undefined: from `today`
 * (the services' today, UTC) up to a year ahead.
 */
export function startOnProblem(startOn: string, today: string): string | undefined {
  const date = startOn.trim();
  if (!date) return 'Enter the date of the first payment.';
  if (!isCalendarDate(date)) return 'Enter the date of the first payment as year-month-day.';
  if (date < today) return START_IN_PAST;
  if (date > addDays(today, MAX_START_AHEAD_DAYS)) return START_TOO_FAR;
  return undefined;
}

/** What is wrong with a standing order's last date, or undefined (it may be empty: until cancelled). */
export function endOnProblem(endOn: string, startOn: string): string | undefined {
  const date = endOn.trim();
  if (!date) return undefined;
  if (!isCalendarDate(date)) return 'Enter the date of the last payment as year-month-day, or leave it empty.';
  if (isCalendarDate(startOn.trim()) && date < startOn.trim()) return END_BEFORE_START;
  return undefined;
}

export interface StandingOrderForm extends PaymentForm {
  frequency: string;
  startOn: string;
  endOn: string;
}

export interface StandingOrderInput extends PaymentInput {
  frequency: Frequency;
  startOn: string;
  endOn: string | null;
}

export interface CheckedStandingOrder {
  errors: FieldErrors;
  /** What `createStandingOrder` gets (with an idempotency key) when the form is valid. */
  input?: StandingOrderInput;
  /** The currency of the chosen account. */
  currency?: string;
}

/**
 * A standing order: the payment as `validatePayment` checks it (each date's payment is an
 * ordinary payment), how often, and its first and last dates against `today` (UTC).
 */
export function validateStandingOrder(
  form: StandingOrderForm,
  accounts: readonly AccountLike[],
  payees: readonly PayeeLike[],
  today: string,
): CheckedStandingOrder {
  const payment = validatePayment(form, accounts, payees);
  const errors: FieldErrors = { ...payment.errors };
  const frequency = FREQUENCIES.find((f) => f === form.frequency);
  if (!frequency) errors.frequency = 'Choose how often to pay: every week or every month.';
  const start = startOnProblem(form.startOn, today);
  if (start) errors.startOn = start;
  const end = endOnProblem(form.endOn, form.startOn);
  if (end) errors.endOn = end;

  if (Object.values(errors).some(Boolean) || !payment.input || !frequency) return { errors, currency: payment.currency };
  return {
    errors,
    currency: payment.currency,
    input: { ...payment.input, frequency, startOn: form.startOn.trim(), endOn: form.endOn.trim() || null },
  };
}
