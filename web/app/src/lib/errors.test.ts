import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  ERROR_MESSAGES,
  NETWORK_MESSAGE,
  RATE_LIMITED_MESSAGE,
  UNKNOWN_MESSAGE,
  describeError,
  sentence,
} from './errors';

const failure = (code: string, message = 'the amount has too many decimals', extra: Record<string, unknown> = {}) => ({
  graphQLErrors: [{ message, extensions: { code, ...extra } }],
});

describe('describeError', () => {
  it('has a distinct human message for every error code of the API', () => {
    const messages = new Set<string>();
    for (const code of ERROR_CODES) {
      const described = describeError(failure(code));
      expect(described.code).toBe(code);
      expect(described.message.length).toBeGreaterThan(10);
      expect(described.message).not.toMatch(/_/); // no codes shown to people
      if (code !== 'BAD_USER_INPUT') expect(described.message).toBe(ERROR_MESSAGES[code]);
      messages.add(described.message);
    }
    expect(messages.size).toBe(ERROR_CODES.length);
  });

  it('keeps the wording of BAD_USER_INPUT and the field it names', () => {
    const described = describeError(
      failure('BAD_USER_INPUT', 'the password must have at least 10 characters', { field: 'password' }),
    );
    expect(described).toEqual({
      code: 'BAD_USER_INPUT',
      message: 'The password must have at least 10 characters.',
      field: 'password',
      retryable: false,
    });
  });

  it('says insufficient funds plainly', () => {
    expect(describeError(failure('INSUFFICIENT_FUNDS')).message).toBe(
      'There is not enough money in the account for this.',
    );
  });

  it('lets a screen override a code', () => {
    const described = describeError(failure('UNAUTHENTICATED'), {
      UNAUTHENTICATED: 'Wrong e-mail address or password.',
    });
    expect(described.message).toBe('Wrong e-mail address or password.');
  });

  it('marks only unknown outcomes as retryable with the same submission', () => {
    expect(describeError(failure('INTERNAL')).retryable).toBe(true);
    expect(describeError(failure('INSUFFICIENT_FUNDS')).retryable).toBe(false);
    expect(describeError({ networkError: new Error('Failed to fetch') }).retryable).toBe(true);
  });

  it('tells network failures, rate limits and unknown errors apart', () => {
    expect(describeError({ networkError: new Error('Failed to fetch') })).toMatchObject({
      code: 'NETWORK',
      message: NETWORK_MESSAGE,
    });
    expect(describeError({ networkError: new Error('x'), response: { status: 429 } })).toMatchObject({
      code: 'RATE_LIMITED',
      message: RATE_LIMITED_MESSAGE,
    });
    expect(describeError(failure('SOMETHING_NEW'))).toMatchObject({ code: 'UNKNOWN', message: UNKNOWN_MESSAGE });
    expect(describeError(undefined).message).toBe(UNKNOWN_MESSAGE);
  });
});

describe('sentence', () => {
  it('capitalises and ends with a full stop', () => {
    expect(sentence('invalid e-mail address: it has no @')).toBe('Invalid e-mail address: it has no @.');
    expect(sentence('Done!')).toBe('Done!');
    expect(sentence('  ')).toBe('');
  });
});
