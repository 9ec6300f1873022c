/**
 * The staff's review queue without React: which actions a loan offers, checking a decision
 * before it is sent, running an action through the API and what it does to the queue.
 */
import type { FailureLike } from '../lib/errors';
import { formatMoney } from '../lib/money';
import type { FieldErrors } from '../lib/validation';
import { describeLoanError } from './messages';

export type StaffAction = 'approve' | 'reject' | 'disburse';

export interface StaffLoanLike {
  id: string;
  status: string;
  principal: { amount: string; currency: string };
  borrower: { fullName: string };
}

/** Pending applications are approved or rejected; approved loans are paid out. */
export function actionsFor(status: string): StaffAction[] {
  if (status === 'PENDING') return ['approve', 'reject'];
  if (status === 'APPROVED') return ['disburse'];
  return [];
}

export const MAX_DECISION_TEXT = 500;

/** A rejection needs a reason (the customer sees it); a note or reason is at most 500 characters. */
export function validateDecision(action: StaffAction, text: string): FieldErrors {
  const trimmed = text.trim();
  if (action === 'reject' && !trimmed) return { reason: 'Say why the application is rejected; the customer sees it.' };
  if ([...trimmed].length > MAX_DECISION_TEXT) {
    return { [action === 'reject' ? 'reason' : 'note']: `Keep it to ${MAX_DECISION_TEXT} characters.` };
  }
  return {};
}

/** The API's answer to one action: the loan as it is now, or what went wrong. */
export interface Outcome<L> {
  loan?: L | null;
  error?: FailureLike;
}

export interface StaffMutations<L> {
  approve(id: string, note: string | null): Promise<Outcome<L>>;
  reject(id: string, reason: string): Promise<Outcome<L>>;
  disburse(id: string): Promise<Outcome<L>>;
}

export type StaffResult<L> =
  | { ok: true; loan: L; message: string }
  | { ok: false; errors: FieldErrors; message?: string; sent: boolean };

/** "Approved 1,000.00 EUR for Dora Example." and the like. */
export function doneMessage(action: StaffAction, loan: StaffLoanLike): string {
  const amount = formatMoney(loan.principal.amount, loan.principal.currency);
  const who = loan.borrower.fullName;
  if (action === 'approve') return `Approved ${amount} for ${who}.`;
  if (action === 'reject') return `Rejected the application of ${who} for ${amount}.`;
  return `Paid ${amount} out to ${who}.`;
}

/**
 * Checks and sends one action. A rejection without a reason is not sent; the API's answer is
 * either the loan as it now stands or a message for the whole card (or for the reason field).
 */
export async function runStaffAction<L extends StaffLoanLike>(
  mutations: StaffMutations<L>,
  action: StaffAction,
  loan: StaffLoanLike,
  text = '',
): Promise<StaffResult<L>> {
  if (!actionsFor(loan.status).includes(action)) {
    return { ok: false, errors: {}, message: 'This loan has moved on; reload the queue.', sent: false };
  }
  const errors = validateDecision(action, text);
  if (Object.values(errors).some(Boolean)) return { ok: false, errors, sent: false };
  const trimmed = text.trim();
  const outcome =
    action === 'approve'
      ? await mutations.approve(loan.id, trimmed || null)
      : action === 'reject'
        ? await mutations.reject(loan.id, trimmed)
        : await mutations.disburse(loan.id);
  if (outcome.loan) return { ok: true, loan: outcome.loan, message: doneMessage(action, outcome.loan) };
  const described = describeLoanError(outcome.error, action === 'disburse' ? 'disburse' : 'decide', loan.principal.currency);
  if (described.code === 'BAD_USER_INPUT' && (described.field === 'reason' || described.field === 'note')) {
    return { ok: false, errors: { [described.field]: described.message }, sent: true };
  }
  return { ok: false, errors: {}, message: described.message, sent: true };
}

export interface Queues<L> {
  pending: L[];
  approved: L[];
}

/**
 * The queue after a loan changed: an approved loan moves to the top of the approved list (to be
 * paid out next); a declined or paid-out loan leaves the queue; a pending one stays where it is.
 */
export function afterAction<L extends { id: string; status: string }>(queues: Queues<L>, loan: L): Queues<L> {
  const approved = queues.approved.filter((item) => item.id !== loan.id);
  if (loan.status === 'PENDING') {
    return { pending: queues.pending.map((item) => (item.id === loan.id ? loan : item)), approved };
  }
  const pending = queues.pending.filter((item) => item.id !== loan.id);
  if (loan.status === 'APPROVED') return { pending, approved: [loan, ...approved] };
  return { pending, approved };
}
