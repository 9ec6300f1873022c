import { describe, expect, it } from 'vitest';
import { RATE_LIMITED_MESSAGE, NETWORK_MESSAGE } from '../lib/errors';
import { VERIFY_REFUSED_MESSAGE, describeVerifyFailure, verificationToken } from './verification';

describe('the token in a confirmation link', () => {
  it('is read from the query string', () => {
    expect(verificationToken('?token=AbC-123_xyz')).toBe('AbC-123_xyz');
    expect(verificationToken('token=AbC')).toBe('AbC');
    expect(verificationToken('?utm=mail&token=AbC&x=1')).toBe('AbC');
  });

  it('is decoded and trimmed', () => {
    expect(verificationToken('?token=%20AbC%20')).toBe('AbC');
    expect(verificationToken('?token=a%2Bb')).toBe('a+b');
  });

  it('is missing when the link has none or an empty one', () => {
    expect(verificationToken('')).toBeUndefined();
    expect(verificationToken('?')).toBeUndefined();
    expect(verificationToken('?token=')).toBeUndefined();
    expect(verificationToken('?token=%20%20')).toBeUndefined();
    expect(verificationToken('?other=AbC')).toBeUndefined();
  });
});

describe('a failed confirmation', () => {
  it('says the link or the password was refused for UNAUTHENTICATED', () => {
    const described = describeVerifyFailure({
      graphQLErrors: [
        {
          message: 'the link has expired or was used, or the password is wrong',
          extensions: { code: 'UNAUTHENTICATED' },
        },
      ],
    });
    expect(described).toMatchObject({ code: 'UNAUTHENTICATED', message: VERIFY_REFUSED_MESSAGE, retryable: false });
    expect(described.message).toMatch(/password is wrong/);
    expect(described.message).toMatch(/expired or was already used/);
  });

  it('keeps a rate limit a rate limit, and a network failure a network failure', () => {
    expect(describeVerifyFailure({ response: { status: 429 }, networkError: new Error('429') })).toMatchObject({
      code: 'RATE_LIMITED',
      message: RATE_LIMITED_MESSAGE,
    });
    expect(describeVerifyFailure({ networkError: new Error('Failed to fetch') })).toMatchObject({
      code: 'NETWORK',
      message: NETWORK_MESSAGE,
    });
  });

  it('keeps the API’s words for a bad input', () => {
    const described = describeVerifyFailure({
      graphQLErrors: [{ message: 'the password must not be empty', extensions: { code: 'BAD_USER_INPUT', field: 'password' } }],
    });
    expect(described).toMatchObject({ code: 'BAD_USER_INPUT', message: 'The password must not be empty.', field: 'password' });
  });
});
