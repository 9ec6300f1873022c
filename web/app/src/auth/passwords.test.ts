import { describe, expect, it } from 'vitest';
import { NETWORK_MESSAGE, RATE_LIMITED_MESSAGE } from '../lib/errors';
import {
  CHANGE_FORBIDDEN_MESSAGE,
  RESET_DISABLED_MESSAGE,
  RESET_LINK_REFUSED_MESSAGE,
  WRONG_CURRENT_PASSWORD_MESSAGE,
  describeChangeFailure,
  describeResetFailure,
  fieldFor,
  resetToken,
} from './passwords';

const refusal = (code: string, message: string, extra: Record<string, unknown> = {}) => ({
  graphQLErrors: [{ message, extensions: { code, ...extra } }],
});

describe('the token in a reset link', () => {
  it('is read from the query string, decoded and trimmed', () => {
    expect(resetToken('?token=AbC-123_xyz')).toBe('AbC-123_xyz');
    expect(resetToken('?utm=mail&token=%20AbC%20')).toBe('AbC');
  });

  it('is missing when the link has none or an empty one', () => {
    expect(resetToken('')).toBeUndefined();
    expect(resetToken('?token=')).toBeUndefined();
    expect(resetToken('?other=AbC')).toBeUndefined();
  });
});

describe('a refused reset', () => {
  it('says the link expired or was used for UNAUTHENTICATED, and belongs to no field', () => {
    const described = describeResetFailure(refusal('UNAUTHENTICATED', 'the link has expired or was used'));
    expect(described).toMatchObject({ code: 'UNAUTHENTICATED', message: RESET_LINK_REFUSED_MESSAGE, retryable: false });
    expect(described.message).toMatch(/ask for a new one/);
    expect(fieldFor(described, ['newPassword'])).toBeUndefined();
  });

  it('shows a weak password in the bank’s words next to the new password', () => {
    const described = describeResetFailure(
      refusal('BAD_USER_INPUT', 'the password must not be the e-mail address', { field: 'newPassword' }),
    );
    expect(described).toMatchObject({ code: 'BAD_USER_INPUT', field: 'newPassword', message: 'The password must not be the e-mail address.' });
    expect(fieldFor(described, ['newPassword'])).toBe('newPassword');
  });

  it('says a disabled account is disabled', () => {
    expect(describeResetFailure(refusal('FORBIDDEN', 'this account is disabled')).message).toBe(RESET_DISABLED_MESSAGE);
  });

  it('keeps a rate limit a rate limit, and a network failure a network failure', () => {
    expect(describeResetFailure({ response: { status: 429 }, networkError: new Error('429') })).toMatchObject({
      code: 'RATE_LIMITED',
      message: RATE_LIMITED_MESSAGE,
      retryable: true,
    });
    expect(describeResetFailure({ networkError: new Error('Failed to fetch') })).toMatchObject({
      code: 'NETWORK',
      message: NETWORK_MESSAGE,
      retryable: true,
    });
  });
});

describe('a refused password change', () => {
  const fields = ['currentPassword', 'newPassword', 'confirmPassword'];

  it('says the current password is wrong, next to it', () => {
    const described = describeChangeFailure(
      refusal('UNAUTHENTICATED', 'wrong e-mail address or password, or the address is not confirmed yet'),
    );
    expect(described).toMatchObject({ code: 'UNAUTHENTICATED', message: WRONG_CURRENT_PASSWORD_MESSAGE });
    expect(fieldFor(described, fields)).toBe('currentPassword');
  });

  it('shows a weak new password next to the new password', () => {
    const described = describeChangeFailure(
      refusal('BAD_USER_INPUT', 'the password must have at least 10 characters', { field: 'newPassword' }),
    );
    expect(described.message).toBe('The password must have at least 10 characters.');
    expect(fieldFor(described, fields)).toBe('newPassword');
  });

  it('turns repeated wrong passwords into a wait', () => {
    const described = describeChangeFailure(refusal('LIMIT_EXCEEDED', 'too many failed sign-ins; try again in 30 s'));
    expect(described).toMatchObject({ code: 'RATE_LIMITED', waitSeconds: 30, retryable: true });
    expect(described.message).toBe('Too many attempts in a short time. Please wait 30 seconds and try again.');
    expect(fieldFor(described, fields)).toBeUndefined();
  });

  it('says a disabled account is disabled, and anything else as everywhere else', () => {
    expect(describeChangeFailure(refusal('FORBIDDEN', 'this account is disabled')).message).toBe(CHANGE_FORBIDDEN_MESSAGE);
    expect(describeChangeFailure(refusal('INTERNAL', 'boom'))).toMatchObject({ code: 'INTERNAL', retryable: true });
  });
});
