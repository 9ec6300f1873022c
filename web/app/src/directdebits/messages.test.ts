import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../lib/errors';
import {
  DIRECT_DEBIT_CONTEXTS,
  DIRECT_DEBIT_STATUS_LABELS,
  FAILURE_TEXT,
  IN_FLIGHT,
  MANDATE_STATUS_LABELS,
  canRefund,
  describeDirectDebitError,
  directDebitNote,
  isInFlight,
  mandateErrorField,
  mandateStatusText,
  refusalText,
} from './messages';

const failure = (code: string, message = 'something was wrong', extra: Record<string, unknown> = {}) => ({
  graphQLErrors: [{ message, extensions: { code, ...extra } }],
});

const STATUSES = ['PENDING', 'COLLECTED', 'REFUSED', 'REFUNDING', 'REFUNDED'];
const FAILURE_CODES = ['NO_MANDATE', 'MANDATE_REVOKED', 'AMOUNT_ABOVE_LIMIT', 'CURRENCY_MISMATCH', 'INSUFFICIENT_FUNDS', 'ACCOUNT_NOT_ACTIVE'];
const NOW = Date.parse('2026-11-25T12:00:00Z');
const LATER = '2027-01-20T12:00:00Z';
const EARLIER = '2026-11-01T12:00:00Z';

describe('describeDirectDebitError', () => {
  it('has a clear, distinct message for every error code wherever a direct debit operation can fail', () => {
    for (const context of DIRECT_DEBIT_CONTEXTS) {
      const messages = new Set<string>();
      for (const code of ERROR_CODES) {
        const described = describeDirectDebitError(failure(code), context);
        expect(described.code).toBe(code);
        expect(described.message.length, `${context} ${code}`).toBeGreaterThan(10);
        expect(described.message, `${context} ${code}`).not.toMatch(/_/);
        expect(described.message, `${context} ${code}`).toMatch(/[.!]$/);
        messages.add(described.message);
      }
      expect(messages.size, context).toBe(ERROR_CODES.length);
    }
  });

  it('says what the limits and refusals of a mandate mean', () => {
    expect(describeDirectDebitError(failure('LIMIT_EXCEEDED'), 'createMandate').message).toMatch(/^You have 50 active mandates/);
    expect(describeDirectDebitError(failure('NOT_FOUND', 'account not found'), 'createMandate').message).toMatch(/account among yours/);
    expect(describeDirectDebitError(failure('NOT_FOUND', 'mandate not found'), 'revokeMandate').message).toMatch(/no longer there/);
  });

  it('puts the service’s complaints about a field in words, next to that field', () => {
    const id = describeDirectDebitError(failure('BAD_USER_INPUT', '"DE97ZZZ09999999999" has wrong check digits', { field: 'creditorId' }), 'createMandate');
    expect(id.message).toBe('This is not a valid creditor identifier. Check it for a mistyped or missing character.');
    expect(mandateErrorField(id)).toBe('creditorId');
    const name = describeDirectDebitError(failure('BAD_USER_INPUT', 'a name is 1 to 70 characters', { field: 'creditorName' }), 'createMandate');
    expect(name).toMatchObject({ field: 'creditorName', message: 'Enter the creditor’s name: 1 to 70 characters, without line breaks.' });
    const reference = describeDirectDebitError(failure('BAD_USER_INPUT', 'a mandate reference is 1 to 35 letters', { field: 'reference' }), 'createMandate');
    expect(reference.message).toMatch(/^Enter the mandate reference: 1 to 35/);
    expect(mandateErrorField(reference)).toBe('reference');
    const limit = describeDirectDebitError(failure('BAD_USER_INPUT', 'the limit must be positive', { field: 'maxAmount' }), 'createMandate');
    expect(limit.message).toBe('The limit must be positive.');
    expect(mandateErrorField(limit)).toBe('maxAmount');
  });

  it('says in words that a creditor’s reference is taken', () => {
    const taken = describeDirectDebitError(
      failure('BAD_USER_INPUT', 'this creditor already has a mandate with this reference', { field: 'reference' }),
      'createMandate',
    );
    expect(taken.message).toBe('This creditor already has a mandate with this reference.');
    expect(mandateErrorField(taken)).toBe('reference');
  });

  it('keeps the form-wide errors off the fields', () => {
    expect(mandateErrorField(describeDirectDebitError(failure('LIMIT_EXCEEDED'), 'createMandate'))).toBeUndefined();
    expect(mandateErrorField(describeDirectDebitError(failure('INTERNAL'), 'createMandate'))).toBeUndefined();
    expect(mandateErrorField(describeDirectDebitError(failure('NOT_FOUND'), 'createMandate'))).toBe('accountId');
    expect(mandateErrorField(describeDirectDebitError(failure('BAD_USER_INPUT', 'x', { field: 'somethingElse' }), 'createMandate'))).toBeUndefined();
  });

  it('says why a refund cannot be had', () => {
    expect(describeDirectDebitError(failure('BAD_USER_INPUT', 'only a collected direct debit can be refunded', { field: 'id' }), 'refund').message).toBe(
      'Only a collected direct debit can be refunded.',
    );
    expect(
      describeDirectDebitError(failure('BAD_USER_INPUT', 'the eight weeks in which a direct debit can be refunded are over', { field: 'id' }), 'refund')
        .message,
    ).toBe('The eight weeks in which you could get this money back are over.');
  });
});

describe('statuses and refusals in plain words', () => {
  it('has a label for every direct debit status, and none in capitals', () => {
    for (const status of STATUSES) {
      expect(DIRECT_DEBIT_STATUS_LABELS[status], status).toBeTruthy();
      expect(DIRECT_DEBIT_STATUS_LABELS[status]).not.toMatch(/^[A-Z_]+$/);
    }
    expect(DIRECT_DEBIT_STATUS_LABELS).toEqual({
      PENDING: 'Being collected',
      COLLECTED: 'Collected',
      REFUSED: 'Refused',
      REFUNDING: 'Being refunded',
      REFUNDED: 'Refunded — money back in your account',
    });
  });

  it('says whether a mandate is active, or since when it is revoked', () => {
    expect(MANDATE_STATUS_LABELS).toEqual({ ACTIVE: 'Active', REVOKED: 'Revoked' });
    expect(mandateStatusText({ status: 'ACTIVE', revokedAt: null })).toBe('Active');
    expect(mandateStatusText({ status: 'REVOKED', revokedAt: new Date(2026, 10, 25, 12).toISOString() })).toBe('Revoked on 25 Nov 2026');
    expect(mandateStatusText({ status: 'REVOKED' })).toBe('Revoked');
  });

  it('has words for every refusal code, and the service’s reason for codes it does not know', () => {
    for (const code of FAILURE_CODES) {
      expect(FAILURE_TEXT[code], code).toBeTruthy();
      expect(refusalText(code, 'the reason'), code).toMatch(/^[A-Z][^_]+\.$/);
    }
    expect(refusalText('MANDATE_REVOKED')).toBe('You had revoked the mandate.');
    expect(refusalText('AMOUNT_ABOVE_LIMIT')).toBe("Above the mandate's limit.");
    expect(refusalText('INSUFFICIENT_FUNDS')).toBe('Not enough money in the account.');
    expect(refusalText('SOMETHING_NEW', 'the creditor was blocked')).toBe('The creditor was blocked.');
    expect(refusalText(null, null)).toBe('The bank did not let the creditor collect this.');
  });

  it('knows which statuses move on by themselves', () => {
    expect(STATUSES.filter(isInFlight)).toEqual(['PENDING', 'REFUNDING']);
    expect(IN_FLIGHT.has('COLLECTED')).toBe(false);
  });

  it('offers a refund only for a collected debit within its eight weeks', () => {
    expect(canRefund({ status: 'COLLECTED', refundableUntil: LATER }, NOW)).toBe(true);
    expect(canRefund({ status: 'COLLECTED', refundableUntil: EARLIER }, NOW)).toBe(false);
    expect(canRefund({ status: 'COLLECTED', refundableUntil: null }, NOW)).toBe(false);
    expect(canRefund({ status: 'REFUNDED', refundableUntil: LATER }, NOW)).toBe(false);
    expect(canRefund({ status: 'REFUSED', refundableUntil: LATER }, NOW)).toBe(false);
  });

  it('explains where each direct debit stands, with why one was refused', () => {
    for (const status of STATUSES) expect(directDebitNote({ status }, NOW), status).toMatch(/\.$/);
    expect(directDebitNote({ status: 'COLLECTED', refundableUntil: LATER }, NOW)).toMatch(/^You can get this money back until \d+ Jan 2027\.$/);
    expect(directDebitNote({ status: 'COLLECTED', refundableUntil: EARLIER }, NOW)).toBe('The creditor has the money.');
    expect(directDebitNote({ status: 'REFUSED', failureCode: 'AMOUNT_ABOVE_LIMIT', failureReason: 'x' }, NOW)).toBe(
      "Above the mandate's limit. No money left your account.",
    );
    expect(directDebitNote({ status: 'REFUSED', failureCode: 'LIMIT_EXCEEDED', failureReason: 'over the daily limit' }, NOW)).toBe(
      'Over the daily limit. No money left your account.',
    );
  });
});
