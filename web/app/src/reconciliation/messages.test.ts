import { describe, expect, it } from 'vitest';
import { ERROR_CODES, NETWORK_MESSAGE, RATE_LIMITED_MESSAGE } from '../lib/errors';
import {
  LEDGER_PROBLEM_LABELS,
  MISMATCH_KINDS,
  MISMATCH_KIND_LABELS,
  describeReconciliationError,
  mismatchKindLabel,
} from './messages';

const failure = (code: string, message = 'something was wrong') => ({
  graphQLErrors: [{ message, extensions: { code } }],
});

describe('mismatch kinds', () => {
  it('has distinct plain words for every kind, without codes', () => {
    expect(Object.keys(MISMATCH_KIND_LABELS).sort()).toEqual([...MISMATCH_KINDS].sort());
    const labels = MISMATCH_KINDS.map(mismatchKindLabel);
    expect(new Set(labels).size).toBe(MISMATCH_KINDS.length);
    for (const label of labels) {
      expect(label).not.toMatch(/_/);
      expect(label).toMatch(/^[A-Z]/);
    }
  });

  it('says what each kind means', () => {
    expect(mismatchKindLabel('MISSING_POSTING')).toBe('Recorded as moved, missing in the ledger');
    expect(mismatchKindLabel('UNEXPECTED_POSTING')).toBe('Moved in the ledger, recorded as not moved');
    expect(mismatchKindLabel('DUPLICATE_POSTING')).toBe('Posted more than once');
    expect(mismatchKindLabel('AMOUNT_DIFFERS')).toBe('Amounts differ');
    expect(mismatchKindLabel('ACCOUNT_DIFFERS')).toBe('Accounts differ');
    expect(mismatchKindLabel('UNKNOWN_REFERENCE')).toBe('In the ledger, unknown to the service');
    expect(mismatchKindLabel('UNEXPLAINED_BALANCE')).toBe('Internal account balance unexplained');
    expect(mismatchKindLabel('STUCK')).toBe('Stuck between states');
    expect(mismatchKindLabel('RECORDS_DISAGREE')).toBe('The service’s own records disagree');
  });

  it('puts a kind the app does not know yet into words', () => {
    expect(mismatchKindLabel('POSTED_TWICE_ELSEWHERE')).toBe('Posted twice elsewhere');
    expect(mismatchKindLabel('')).toBe('Unknown mismatch');
  });

  it('has distinct words for the ledger’s own problems', () => {
    const labels = Object.values(LEDGER_PROBLEM_LABELS);
    expect(new Set(labels).size).toBe(labels.length);
    for (const label of labels) expect(label).not.toMatch(/_/);
  });
});

describe('describeReconciliationError', () => {
  it('has a message for every error code', () => {
    for (const code of ERROR_CODES) {
      const described = describeReconciliationError(failure(code));
      expect(described.code).toBe(code);
      expect(described.message.length, code).toBeGreaterThan(10);
      expect(described.message, code).not.toMatch(/_/);
    }
  });

  it('tells a customer the reconciliation is for staff', () => {
    expect(describeReconciliationError(failure('FORBIDDEN')).message).toBe(
      'Only tellers and administrators can see the reconciliation.',
    );
  });

  it('says a failed run can be tried again', () => {
    expect(describeReconciliationError(failure('INTERNAL'))).toMatchObject({
      code: 'INTERNAL',
      message: 'The reconciliation could not be run just now. Nothing was changed; try again in a moment.',
      retryable: true,
    });
  });

  it('keeps the app-wide messages for the network and rate limits', () => {
    expect(describeReconciliationError({ networkError: new Error('Failed to fetch') })).toMatchObject({
      code: 'NETWORK',
      message: NETWORK_MESSAGE,
    });
    expect(describeReconciliationError({ networkError: new Error('Too Many Requests'), response: { status: 429 } })).toMatchObject({
      code: 'RATE_LIMITED',
      message: RATE_LIMITED_MESSAGE,
      retryable: true,
    });
  });
});
