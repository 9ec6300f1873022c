import { describe, expect, it } from 'vitest';
import { ERROR_CODES, ERROR_MESSAGES } from '../lib/errors';
import {
  LOAN_CONTEXTS,
  LOAN_STATUS_LABELS,
  describeLoanError,
  loanStatusNote,
  plainWords,
  repaymentFailureText,
} from './messages';

const failure = (code: string, message = 'something was wrong', extra: Record<string, unknown> = {}) => ({
  graphQLErrors: [{ message, extensions: { code, ...extra } }],
});

describe('describeLoanError', () => {
  it('has a clear, distinct message for every error code wherever a loan operation can fail', () => {
    for (const context of LOAN_CONTEXTS) {
      const messages = new Set<string>();
      for (const code of ERROR_CODES) {
        const described = describeLoanError(failure(code), context, 'EUR');
        expect(described.code).toBe(code);
        expect(described.message.length, `${context} ${code}`).toBeGreaterThan(10);
        expect(described.message, `${context} ${code}`).not.toMatch(/_/);
        expect(described.message, `${context} ${code}`).toMatch(/[.!]$/);
        messages.add(described.message);
      }
      expect(messages.size, context).toBe(ERROR_CODES.length);
    }
  });

  it('says what each failure means for a repayment', () => {
    expect(describeLoanError(failure('INSUFFICIENT_FUNDS'), 'repay', 'EUR').message).toBe(
      'There is not enough money in the account to repay this much. Repay less, or from another account.',
    );
    expect(describeLoanError(failure('CURRENCY_MISMATCH'), 'repay', 'EUR').message).toBe(
      'Repay from an account in EUR, the loan’s currency.',
    );
    expect(describeLoanError(failure('ACCOUNT_NOT_ACTIVE'), 'repay').message).toMatch(/frozen or closed/);
    expect(describeLoanError(failure('IDEMPOTENCY_KEY_REUSED'), 'repay').message).toMatch(/already sent with different details/);
  });

  it('says what each failure means for an application', () => {
    expect(describeLoanError(failure('CURRENCY_MISMATCH'), 'apply', 'USD').message).toBe(
      'This loan is paid out in USD: choose an account in USD.',
    );
    expect(describeLoanError(failure('LIMIT_EXCEEDED'), 'apply').message).toMatch(/^You already have 5 loans open or in review/);
    expect(describeLoanError(failure('NOT_FOUND'), 'apply').message).toMatch(/account/);
  });

  it('tells staff why a payout failed', () => {
    expect(describeLoanError(failure('INSUFFICIENT_FUNDS'), 'disburse').message).toBe(
      'The bank’s loan funding account does not have enough money to pay this loan out.',
    );
    expect(describeLoanError(failure('ACCOUNT_NOT_ACTIVE'), 'disburse').message).toMatch(/^The borrower’s account is frozen or closed/);
    expect(describeLoanError(failure('FORBIDDEN'), 'decide').message).toBe(
      'Only tellers and administrators can decide on loan applications.',
    );
  });

  it('keeps the service’s own wording for bad input, with its codes in words', () => {
    expect(describeLoanError(failure('BAD_USER_INPUT', 'the loan is APPROVED, not PENDING', { field: 'id' }), 'decide')).toEqual({
      code: 'BAD_USER_INPUT',
      message: 'The loan is approved, not waiting for a decision.',
      field: 'id',
      retryable: false,
    });
    expect(
      describeLoanError(failure('BAD_USER_INPUT', 'PERSONAL_EUR lends between 500.00 and 25000.00 EUR', { field: 'amount' }), 'apply')
        .message,
    ).toBe('This loan lends between 500.00 and 25000.00 EUR.');
    expect(
      describeLoanError(failure('BAD_USER_INPUT', 'only an ACTIVE loan can be repaid; this one is PAID_OFF', { field: 'loanId' }), 'repay')
        .message,
    ).toBe('Only an active loan can be repaid; this one is paid off.');
    expect(
      describeLoanError(failure('BAD_USER_INPUT', 'there is no loan product "GOLD_EUR"; see loanProducts', { field: 'productCode' }), 'quote')
        .message,
    ).toBe('That loan is no longer on offer. Reload the page to see the loans we offer.');
  });

  it('falls back to the app-wide messages elsewhere, and keeps network failures retryable', () => {
    expect(describeLoanError(failure('UNAUTHENTICATED'), 'repay').message).toBe(ERROR_MESSAGES.UNAUTHENTICATED);
    expect(describeLoanError(failure('INTERNAL'), 'repay').retryable).toBe(true);
    expect(describeLoanError({ networkError: new Error('Failed to fetch') }, 'apply')).toMatchObject({ code: 'NETWORK', retryable: true });
  });
});

describe('plainWords', () => {
  it('turns statuses and product codes into words', () => {
    expect(plainWords('the loan is REJECTED, not PENDING')).toBe('the loan is declined, not waiting for a decision');
    expect(plainWords('CAR_EUR runs between 12 and 96 months')).toBe('this loan runs between 12 and 96 months');
    expect(plainWords('nothing to change')).toBe('nothing to change');
  });
});

describe('repaymentFailureText', () => {
  it('explains a failed repayment by its code', () => {
    expect(repaymentFailureText('INSUFFICIENT_FUNDS', 'EUR')).toMatch(/^There is not enough money in the account to repay/);
    expect(repaymentFailureText('ACCOUNT_NOT_ACTIVE')).toMatch(/frozen or closed/);
    expect(repaymentFailureText('SOMETHING_NEW')).toBe('The repayment failed; no money moved.');
    expect(repaymentFailureText(null)).toBe('The repayment failed; no money moved.');
  });
});

describe('loan statuses', () => {
  it('have a word and a note for the borrower each', () => {
    for (const status of ['PENDING', 'APPROVED', 'REJECTED', 'ACTIVE', 'PAID_OFF']) {
      expect(LOAN_STATUS_LABELS[status]).toBeTruthy();
      expect(loanStatusNote({ status }).length).toBeGreaterThan(10);
    }
    expect(loanStatusNote({ status: 'REJECTED', decisionReason: 'income too low for this amount' })).toBe(
      'Your application was declined: income too low for this amount.',
    );
  });

  it('says plainly when the loan waits for a second member of staff', () => {
    const approval = loanStatusNote({ status: 'PENDING', awaitingSecondStaff: true });
    expect(approval).toMatch(/waits for a second member of staff to approve/);
    expect(approval).not.toBe(loanStatusNote({ status: 'PENDING', awaitingSecondStaff: false }));
    const payout = loanStatusNote({ status: 'APPROVED', awaitingSecondStaff: true });
    expect(payout).toMatch(/waits for a second member of staff to confirm the payout/);
    expect(payout).not.toBe(loanStatusNote({ status: 'APPROVED' }));
    // Nothing waits once a loan is paid out, declined or repaid.
    for (const status of ['ACTIVE', 'REJECTED', 'PAID_OFF']) {
      expect(loanStatusNote({ status, awaitingSecondStaff: true })).toBe(loanStatusNote({ status }));
    }
  });
});
