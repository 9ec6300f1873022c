import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  ERROR_MESSAGES,
  NETWORK_MESSAGE,
  RATE_LIMITED_MESSAGE,
  UNKNOWN_MESSAGE,
  describeError,
  isRateLimited,
  rateLimitedMessage,
  sentence,
  throttleWait,
  waitText,
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

  it('tells staff that a four-eyes request waits for a second member of staff', () => {
    const described = describeError(failure('SECOND_APPROVAL_REQUIRED', 'a second member of staff must make the same request'));
    expect(described).toEqual({
      code: 'SECOND_APPROVAL_REQUIRED',
      message:
        'Your request is recorded, but a second member of staff must make the same request before it takes effect. Nothing has changed yet.',
      field: undefined,
      retryable: false,
    });
    expect(ERROR_CODES).toContain('SECOND_APPROVAL_REQUIRED');
    expect(isRateLimited(described)).toBe(false);
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

describe('rate limits', () => {
  it('tells the users service slowing sign-ins down apart from the limits waiting does not lift', () => {
    expect(describeError(failure('LIMIT_EXCEEDED', 'too many failed sign-ins; try again in 30 s'))).toEqual({
      code: 'RATE_LIMITED',
      message: 'Too many attempts in a short time. Please wait 30 seconds and try again.',
      retryable: true,
      waitSeconds: 30,
    });
    expect(describeError(failure('LIMIT_EXCEEDED', 'too many sign-ins at once; try again in a moment'))).toEqual({
      code: 'RATE_LIMITED',
      message: RATE_LIMITED_MESSAGE,
      retryable: true,
    });
    const accounts = describeError(failure('LIMIT_EXCEEDED', 'a customer may hold at most 10 open accounts'));
    expect(accounts.code).toBe('LIMIT_EXCEEDED');
    expect(accounts.message).toBe(ERROR_MESSAGES.LIMIT_EXCEEDED);
    expect(isRateLimited(accounts)).toBe(false);
    // A screen's own words for LIMIT_EXCEEDED do not hide a wait.
    expect(
      describeError(failure('LIMIT_EXCEEDED', 'too many failed sign-ins; try again in 900 s'), { LIMIT_EXCEEDED: 'Too many loans.' }).message,
    ).toBe('Too many attempts in a short time. Please wait 15 minutes and try again.');
  });

  it('reads the wait from the message only when it says too many and try again', () => {
    expect(throttleWait('too many failed sign-ins; try again in 45 s')).toEqual({ seconds: 45 });
    expect(throttleWait('Too many sign-ins at once; try again in a moment')).toEqual({});
    expect(throttleWait('at most 20 reminders waiting and 50 scheduled a day')).toBeUndefined();
    expect(throttleWait('one sign-in (login, register or refreshToken) per request')).toBeUndefined();
    expect(throttleWait('')).toBeUndefined();
  });

  it('says how long to wait in words', () => {
    expect(waitText(1)).toBe('a second');
    expect(waitText(30)).toBe('30 seconds');
    expect(waitText(60)).toBe('a minute');
    expect(waitText(61)).toBe('2 minutes');
    expect(waitText(900)).toBe('15 minutes');
    expect(rateLimitedMessage()).toBe(RATE_LIMITED_MESSAGE);
    expect(rateLimitedMessage(60)).toBe(RATE_LIMITED_MESSAGE);
  });

  it('counts NGINX answering 429 as a rate limit, whatever the body', () => {
    const html = describeError({ networkError: new Error('<html><head><title>429 Too Many Requests</title></head></html>'), response: { status: 429 } });
    expect(isRateLimited(html)).toBe(true);
    expect(isRateLimited(describeError({ networkError: new Error('Failed to fetch') }))).toBe(false);
    expect(isRateLimited(undefined)).toBe(false);
  });
});
