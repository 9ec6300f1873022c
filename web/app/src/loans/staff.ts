/**
 * The staff's review queue without React: which actions a loan offers, checking a decision
 * before it is sent, running an action through the API and what it does to the queue, and
 * where a four-eyes step stands (approving and paying out each need two members of staff).
 */
import type { FailureLike } from '../lib/errors';
import { formatMoney } from '../lib/money';
import type { FieldErrors } from '../lib/validation';
import { describeLoanError } from './messages';

export type StaffAction = 'approve' | 'reject' | 'disburse';

/** One member of staff's part in a four-eyes step (`Loan.approvals`). */
export interface LoanApprovalLike {
  step: string;
  staffId: string;
  at: string;
}

export interface StaffLoanLike {
  id: string;
  status: string;
  principal: { amount: string; currency: string };
  borrower: { id?: string; fullName: string };
  /** One member of staff has approved it or asked for its payout; a second one must now. */
  awaitingSecondStaff?: boolean;
  approvals?: readonly LoanApprovalLike[];
}

/** The steps that need two members of staff. */
export type FourEyesStep = 'APPROVAL' | 'PAYOUT';

/** The two-person step a loan's status waits for: approving a pending application, paying an approved loan out. */
export function stepOf(status: string): FourEyesStep | undefined {
  if (status === 'PENDING') return 'APPROVAL';
  if (status === 'APPROVED') return 'PAYOUT';
  return undefined;
}

export interface FourEyes {
  step: FourEyesStep;
  /** The first half of the step, when it is done and waits for a second member of staff. */
  first?: LoanApprovalLike;
  /** The signed-in member of staff did the first half: only someone else can finish the step. */
  mine: boolean;
}

/** Where the loan's current step stands for the signed-in member of staff (`me`: their user id). */
export function fourEyes(loan: StaffLoanLike, me?: string): FourEyes | undefined {
  const step = stepOf(loan.status);
  if (!step) return undefined;
  if (!loan.awaitingSecondStaff) return { step, mine: false };
  const first = (loan.approvals ?? []).filter((approval) => approval.step === step).at(-1);
  return { step, first, mine: Boolean(me && first?.staffId === me) };
}

/** Staff never decide on or pay out their own loan: a colleague does. */
export const isOwnLoan = (loan: StaffLoanLike, me?: string) => Boolean(me && loan.borrower.id === me);

/**
 * Pending applications are approved or rejected; approved loans are paid out. The member of
 * staff who did the first half of a step is not offered it again (it would change nothing);
 * they may still reject. Nothing is offered on one's own loan.
 */
export function actionsFor(loan: StaffLoanLike, me?: string): StaffAction[] {
  if (isOwnLoan(loan, me)) return [];
  const mine = fourEyes(loan, me)?.mine ?? false;
  if (loan.status === 'PENDING') return mine ? ['reject'] : ['approve', 'reject'];
  if (loan.status === 'APPROVED') return mine ? [] : ['disburse'];
  return [];
}

/** The words on an action's button: the second member of staff completes the step. */
export function actionLabel(action: 'approve' | 'disburse', loan: StaffLoanLike): string {
  const second = Boolean(loan.awaitingSecondStaff);
  if (action === 'approve') return second ? 'Approve as second member of staff' : 'Approve';
  const amount = formatMoney(loan.principal.amount, loan.principal.currency);
  return second ? `Confirm payout of ${amount}` : `Pay out ${amount}`;
}

/**
 * What the card says while a step waits for a second member of staff (undefined otherwise):
 * the one who did the first half is told it waits for someone else.
 */
export function waitingText(loan: StaffLoanLike, me?: string): string | undefined {
  const state = fourEyes(loan, me);
  if (!state || !loan.awaitingSecondStaff) return undefined;
  if (state.step === 'APPROVAL') {
    return state.mine
      ? 'You approved this application (1 of 2). It waits for a second member of staff to approve it.'
      : 'Approved by 1 of 2 — a second member of staff must approve.';
  }
  return state.mine
    ? 'You asked for this payout. It waits for a second member of staff to confirm it; no money has moved yet.'
    : 'Payout asked for — a second member of staff must confirm.';
}

/** One line of a loan's approvals: what was done, by whom ("You" or the staff id), when. */
export interface ApprovalRow {
  what: string;
  who: string;
  at: string;
}

/** `Loan.approvals` in words, in order: "Approved (1 of 2)", "Asked for the payout", … */
export function approvalRows(approvals: readonly LoanApprovalLike[] | undefined, me?: string): ApprovalRow[] {
  const seen: Record<string, number> = {};
  return (approvals ?? []).map((approval) => {
    const nth = (seen[approval.step] = (seen[approval.step] ?? 0) + 1);
    let what: string;
    if (approval.step === 'APPROVAL') what = `Approved (${nth} of 2)`;
    else if (approval.step === 'PAYOUT') what = nth === 1 ? 'Asked for the payout' : 'Confirmed the payout';
    else what = approval.step.toLowerCase().replace(/_+/g, ' ');
    return { what, who: me && approval.staffId === me ? 'You' : approval.staffId, at: approval.at };
  });
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

/**
 * "Approved 1,000.00 EUR for Dora Example." and the like, from the loan as the API answered: a
 * first approval or payout request says that it waits for a second member of staff.
 */
export function doneMessage(action: StaffAction, loan: StaffLoanLike): string {
  const amount = formatMoney(loan.principal.amount, loan.principal.currency);
  const who = loan.borrower.fullName;
  if (action === 'approve' && loan.status === 'PENDING' && loan.awaitingSecondStaff) {
    return `Approved ${amount} for ${who} (1 of 2): a second member of staff must approve it too.`;
  }
  if (action === 'disburse' && loan.status === 'APPROVED' && loan.awaitingSecondStaff) {
    return `Asked to pay ${amount} out to ${who}: a second member of staff must confirm the payout.`;
  }
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
  me?: string,
): Promise<StaffResult<L>> {
  if (!actionsFor(loan, me).includes(action)) {
    const message = isOwnLoan(loan, me)
      ? 'This is your own loan: a colleague must decide on it and pay it out.'
      : fourEyes(loan, me)?.mine
        ? 'You have done this step already; it waits for a second member of staff.'
        : 'This loan has moved on; reload the queue.';
    return { ok: false, errors: {}, message, sent: false };
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
 * The queue after a loan changed: a newly approved loan moves to the top of the approved list
 * (to be paid out next); a declined or paid-out loan leaves the queue; a loan still in the same
 * list (approved once, payout asked for once) stays where it is, as it now stands.
 */
export function afterAction<L extends { id: string; status: string }>(queues: Queues<L>, loan: L): Queues<L> {
  const replace = (list: L[]) => list.map((item) => (item.id === loan.id ? loan : item));
  const approved = queues.approved.filter((item) => item.id !== loan.id);
  if (loan.status === 'PENDING') return { pending: replace(queues.pending), approved };
  const pending = queues.pending.filter((item) => item.id !== loan.id);
  if (loan.status === 'APPROVED') {
    const already = approved.length < queues.approved.length;
    return { pending, approved: already ? replace(queues.approved) : [loan, ...approved] };
  }
  return { pending, approved };
}
