import { describe, expect, it } from 'vitest';
import { ERROR_CODES, NETWORK_MESSAGE, RATE_LIMITED_MESSAGE } from '../lib/errors';
import { describeAuditError } from './messages';

const failure = (code: string, message = 'something was wrong') => ({
  graphQLErrors: [{ message, extensions: { code } }],
});

describe('describeAuditError', () => {
  it('has a message for every error code', () => {
    for (const code of ERROR_CODES) {
      const described = describeAuditError(failure(code));
      expect(described.code).toBe(code);
      expect(described.message.length, code).toBeGreaterThan(10);
      expect(described.message, code).not.toMatch(/_/);
    }
  });

  it('tells anyone but an administrator that the trail is for administrators', () => {
    expect(describeAuditError(failure('FORBIDDEN', 'administrators only'))).toMatchObject({
      code: 'FORBIDDEN',
      message: 'Only administrators can read the audit trail.',
      retryable: false,
    });
  });

  it('says a failed read can be tried again', () => {
    expect(describeAuditError(failure('INTERNAL'))).toMatchObject({
      code: 'INTERNAL',
      message: 'The audit trail could not be read just now. Nothing was changed; try again in a moment.',
      retryable: true,
    });
  });

  it('keeps the app-wide messages for the network and rate limits', () => {
    expect(describeAuditError({ networkError: new Error('Failed to fetch') })).toMatchObject({
      code: 'NETWORK',
      message: NETWORK_MESSAGE,
    });
    expect(describeAuditError({ networkError: new Error('Too Many Requests'), response: { status: 429 } })).toMatchObject({
      code: 'RATE_LIMITED',
      message: RATE_LIMITED_MESSAGE,
      retryable: true,
    });
  });
});
