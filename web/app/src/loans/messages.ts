/**
 * What the loan screens say: a message for every error code in each place a loan operation can
 * fail (a code means something different when applying than when repaying or paying out), the
 * words for the statuses, and the reason a repayment failed.
 */
import { ERROR_CODES, describeError, sentence, type Described, type ErrorCode, type FailureLike } from '../lib/errors';

/** Where a loan operation failed. */
export type LoanContext = 'load' | 'quote' | 'apply' | 'repay' | 'decide' | 'disburse';

export const LOAN_CONTEXTS: readonly LoanContext[] = ['load', 'quote', 'apply', 'repay', 'decide', 'disburse'];

const PRODUCT_GONE = 'That loan is no longer on offer. Reload the page to see the loans we offer.';

/** Messages that say more than the app-wide ones (lib/errors.ts) for a code in a context. */
export function loanErrorOverrides(context: LoanContext, currency = 'the loan’s currency'): Partial<Record<ErrorCode, string>> {
  switch (context) {
    case 'load':
      return { NOT_FOUND: 'We could not find that loan.' };
    case 'quote':
      return { NOT_FOUND: PRODUCT_GONE };
    case 'apply':
      return {
        NOT_FOUND: 'We could not find that account among yours. Choose one of your accounts.',
        CURRENCY_MISMATCH: `This loan is paid out in ${currency}: choose an account in ${currency}.`,
        ACCOUNT_NOT_ACTIVE: 'That account is frozen or closed. Choose an active account to receive the loan.',
        LIMIT_EXCEEDED:
          'You already have 5 loans open or in review, the most allowed. Repay a loan or wait for a decision before applying again.',
        INSUFFICIENT_FUNDS: 'The bank cannot lend this much right now. Try a smaller amount.',
        IDEMPOTENCY_KEY_REUSED: 'This application was already sent with different details. Check the form and apply again.',
        FORBIDDEN: 'You are not allowed to apply for a loan into that account.',
      };
    case 'repay':
      return {
        NOT_FOUND: 'We could not find that loan or account. Reload the page and try again.',
        INSUFFICIENT_FUNDS: 'There is not enough money in the account to repay this much. Repay less, or from another account.',
        CURRENCY_MISMATCH: `Repay from an account in ${currency}, the loan’s currency.`,
        ACCOUNT_NOT_ACTIVE: 'That account is frozen or closed, so no repayment can be taken from it. Choose another account.',
        LIMIT_EXCEEDED: 'This would go over the account’s daily limit. Repay less today, or from another account.',
        IDEMPOTENCY_KEY_REUSED: 'This repayment was already sent with different details. Check the form and repay again.',
        FORBIDDEN: 'You are not allowed to repay this loan from that account.',
      };
    case 'decide':
      return {
        NOT_FOUND: 'This application no longer exists.',
        FORBIDDEN: 'Only tellers and administrators can decide on loan applications.',
      };
    case 'disburse':
      return {
        NOT_FOUND: 'This loan or the account it is paid into no longer exists.',
        FORBIDDEN: 'Only tellers and administrators can pay loans out.',
        INSUFFICIENT_FUNDS: 'The bank’s loan funding account does not have enough money to pay this loan out.',
        ACCOUNT_NOT_ACTIVE: 'The borrower’s account is frozen or closed, so the loan cannot be paid into it.',
        CURRENCY_MISMATCH: 'The borrower’s account is not in the loan’s currency, so the loan cannot be paid into it.',
        LIMIT_EXCEEDED: 'Paying this out would go over a limit on the borrower’s account.',
      };
  }
}

const STATUS_WORDS: Record<string, string> = {
  PENDING: 'waiting for a decision',
  APPROVED: 'approved',
  REJECTED: 'declined',
  ACTIVE: 'active',
  PAID_OFF: 'paid off',
};

/**
 * The service's BAD_USER_INPUT wording with its codes in words: "the loan is APPROVED, not
 * PENDING" → "the loan is approved, not waiting for a decision"; a product code such as
 * PERSONAL_EUR becomes "this loan".
 */
export function plainWords(text: string): string {
  return text
    .replace(/\b(PENDING|APPROVED|REJECTED|ACTIVE|PAID_OFF)\b/g, (word) => STATUS_WORDS[word])
    .replace(/\b[A-Z0-9]+(?:_[A-Z0-9]+)+\b/g, 'this loan');
}

/** A failed loan operation as one message for people (and the field it concerns, if any). */
export function describeLoanError(failure: FailureLike | null | undefined, context: LoanContext, currency?: string): Described {
  const described = describeError(failure, loanErrorOverrides(context, currency));
  if (described.code !== 'BAD_USER_INPUT') return described;
  if (described.field === 'productCode') return { ...described, message: PRODUCT_GONE };
  return { ...described, message: sentence(plainWords(described.message)) };
}

/** Why a repayment failed, from its `failureCode` (the ledger's error code). */
export function repaymentFailureText(code: string | null | undefined, currency?: string): string {
  if (!code) return 'The repayment failed; no money moved.';
  const known = (ERROR_CODES as readonly string[]).includes(code);
  if (!known) return 'The repayment failed; no money moved.';
  return describeLoanError({ graphQLErrors: [{ message: 'the repayment failed', extensions: { code } }] }, 'repay', currency).message;
}

export const LOAN_STATUS_LABELS: Record<string, string> = {
  PENDING: 'In review',
  APPROVED: 'Approved',
  REJECTED: 'Declined',
  ACTIVE: 'Active',
  PAID_OFF: 'Paid off',
};

export const INSTALLMENT_STATUS_LABELS: Record<string, string> = {
  PAID: 'Paid',
  PARTLY_PAID: 'Partly paid',
  UPCOMING: 'Upcoming',
  OVERDUE: 'Overdue',
};

export const REPAYMENT_STATUS_LABELS: Record<string, string> = {
  PENDING: 'Processing',
  POSTED: 'Paid',
  FAILED: 'Failed',
};

const withStop = (text: string) => (/[.!?]$/.test(text) ? text : `${text}.`);

/**
 * What the borrower is told about where the loan stands. Four eyes (`awaitingSecondStaff`): a
 * loan one member of staff approved, or asked to pay out, waits for a second one, and says so.
 */
export function loanStatusNote(loan: { status: string; decisionReason?: string | null; awaitingSecondStaff?: boolean | null }): string {
  switch (loan.status) {
    case 'PENDING':
      return loan.awaitingSecondStaff
        ? 'One member of our staff has approved your application. It now waits for a second member of staff to approve it too; we will let you know when it is decided.'
        : 'We are reviewing your application. We will let you know when it is decided.';
    case 'APPROVED':
      return loan.awaitingSecondStaff
        ? 'Your loan is approved. One member of our staff has asked for it to be paid out; it now waits for a second member of staff to confirm the payout before the money reaches your account.'
        : 'Your loan is approved and will be paid into your account shortly.';
    case 'REJECTED':
      return loan.decisionReason?.trim()
        ? `Your application was declined: ${withStop(loan.decisionReason.trim())}`
        : 'Your application was declined.';
    case 'ACTIVE':
      return 'Your loan is paid out. Repay it by the dates below, or earlier.';
    case 'PAID_OFF':
      return 'Your loan is repaid in full. Thank you.';
    default:
      return '';
  }
}
