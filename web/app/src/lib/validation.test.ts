import { describe, expect, it } from 'vitest';
import {
  hasErrors,
  normalizeAccountNumber,
  passwordProblem,
  validateAccountNumber,
  validateChangePassword,
  validateForgotPassword,
  validateFreeze,
  validateMoneyForm,
  validateResetPassword,
  validateSignUp,
  validateVerifyEmail,
} from './validation';

describe('the sign-up form', () => {
  it('applies the password rules of the users service', () => {
    const form = { fullName: 'Ann Example', email: 'ann@example.com' };
    expect(validateSignUp({ ...form, password: 'short1' }).password).toBe('Use at least 10 characters.');
    expect(validateSignUp({ ...form, password: 'onlyletters' }).password).toBe('Use at least one letter and one digit.');
    expect(validateSignUp({ ...form, password: '1234567890' }).password).toBe('Use at least one letter and one digit.');
    expect(validateSignUp({ ...form, password: 'x'.repeat(128) + '1' }).password).toBe('Use at most 128 characters.');
    expect(validateSignUp({ fullName: 'A', email: 'abc1@ex.io', password: 'ABC1@ex.io' }).password).toBe(
      'The password must not be your e-mail address.',
    );
    expect(validateSignUp({ ...form, password: 'correct horse 1' })).toEqual({});
    expect(validateSignUp({ fullName: '  ', email: 'no-at', password: 'correct horse 1' })).toEqual({
      fullName: 'Enter your full name.',
      email: 'Enter your e-mail address, like name@example.com.',
    });
  });
});

describe('a new password', () => {
  it('follows the users service: 10 to 128 characters, a letter and a digit, not the e-mail address', () => {
    expect(passwordProblem('short1')).toBe('Use at least 10 characters.');
    expect(passwordProblem('x'.repeat(128) + '1')).toBe('Use at most 128 characters.');
    expect(passwordProblem('x'.repeat(127) + '1')).toBeUndefined();
    expect(passwordProblem('onlyletters')).toBe('Use at least one letter and one digit.');
    expect(passwordProblem('1234567890')).toBe('Use at least one letter and one digit.');
    expect(passwordProblem('Ünïcödé 12')).toBeUndefined();
    expect(passwordProblem(' Ann1@Example.com ', 'ann1@example.com')).toBe('The password must not be your e-mail address.');
    expect(passwordProblem('ann1@example.com')).toBeUndefined();
    expect(passwordProblem('correct horse 1', 'ann@example.com')).toBeUndefined();
  });
});

describe('asking for a password-reset link', () => {
  it('needs an e-mail address', () => {
    expect(validateForgotPassword({ email: '' })).toEqual({ email: 'Enter your e-mail address, like name@example.com.' });
    expect(validateForgotPassword({ email: 'no-at' })).toEqual({ email: 'Enter your e-mail address, like name@example.com.' });
    expect(validateForgotPassword({ email: ' ann@example.com ' })).toEqual({});
  });
});

describe('choosing a new password from a reset link', () => {
  it('checks the rules and that both entries are the same', () => {
    expect(validateResetPassword({ newPassword: 'correct horse 1', confirmPassword: 'correct horse 1' })).toEqual({});
    expect(validateResetPassword({ newPassword: 'short1', confirmPassword: 'short1' })).toEqual({
      newPassword: 'Use at least 10 characters.',
    });
    expect(validateResetPassword({ newPassword: 'correct horse 1', confirmPassword: 'correct horse 2' })).toEqual({
      confirmPassword: 'The two passwords are not the same.',
    });
    expect(validateResetPassword({ newPassword: 'correct horse 1', confirmPassword: '' })).toEqual({
      confirmPassword: 'Enter the new password again.',
    });
    expect(validateResetPassword({ newPassword: '', confirmPassword: '' })).toEqual({
      newPassword: 'Use at least 10 characters.',
      confirmPassword: 'Enter the new password again.',
    });
  });
});

describe('changing the password', () => {
  const form = { currentPassword: 'old password 1', newPassword: 'new password 2', confirmPassword: 'new password 2' };

  it('needs the current password and a new one twice', () => {
    expect(validateChangePassword(form, 'ann@example.com')).toEqual({});
    expect(validateChangePassword({ ...form, currentPassword: '' })).toEqual({ currentPassword: 'Enter your current password.' });
    expect(validateChangePassword({ ...form, confirmPassword: 'new password 3' })).toEqual({
      confirmPassword: 'The two passwords are not the same.',
    });
    expect(hasErrors(validateChangePassword({ ...form, newPassword: 'weak', confirmPassword: 'weak' }))).toBe(true);
  });

  it('refuses the e-mail address and the current password as the new one', () => {
    const email = 'ann1@example.com';
    expect(validateChangePassword({ ...form, newPassword: email, confirmPassword: email }, email)).toEqual({
      newPassword: 'The password must not be your e-mail address.',
    });
    expect(validateChangePassword({ ...form, newPassword: form.currentPassword, confirmPassword: form.currentPassword })).toEqual({
      newPassword: 'Choose a password different from the current one.',
    });
  });
});

describe('confirming an e-mail address', () => {
  it('asks for the password chosen at sign-up, whatever it is', () => {
    expect(validateVerifyEmail({ password: '' })).toEqual({ password: 'Enter the password you chose when you signed up.' });
    expect(validateVerifyEmail({ password: 'x' })).toEqual({});
    expect(hasErrors(validateVerifyEmail({ password: 'correct horse 42' }))).toBe(false);
  });
});

describe('account numbers', () => {
  it('normalises spaces and case', () => {
    expect(normalizeAccountNumber(' xb12 0001 2345 6789 01 ')).toBe('XB1200012345678901');
    expect(validateAccountNumber('XB12 0001 2345 6789 01')).toBeUndefined();
    expect(validateAccountNumber('')).toBe('Enter the account number.');
    expect(validateAccountNumber('12345')).toMatch(/like XB12/);
  });
});

describe('validateMoneyForm', () => {
  it('returns the canonical amount for a valid deposit', () => {
    expect(validateMoneyForm({ action: 'deposit', amount: '12,5', currency: 'EUR' })).toEqual({
      errors: {},
      amount: '12.50',
    });
  });

  it('checks the amount against the currency exponent', () => {
    expect(validateMoneyForm({ action: 'withdraw', amount: '10.5', currency: 'JPY' })).toEqual({
      errors: { amount: 'JPY amounts have no decimals.' },
      amount: undefined,
    });
  });

  it('needs a destination for a transfer, and not the same account', () => {
    const base = { action: 'transfer' as const, amount: '5', currency: 'EUR', fromAccountId: 'a1', fromAccountNumber: 'XB1200012345678901' };
    expect(validateMoneyForm({ ...base, toAccountNumber: '' }).errors).toEqual({
      toAccountNumber: 'Enter the account number.',
    });
    expect(validateMoneyForm({ ...base, toAccountNumber: 'xb12 0001 2345 6789 01' }).errors).toEqual({
      toAccountNumber: 'You cannot send money to the same account.',
    });
    expect(validateMoneyForm({ ...base, toAccountId: 'a1' }).errors).toEqual({
      to: 'Choose a different account to send money to.',
    });
    expect(validateMoneyForm({ ...base, toAccountId: 'a2' }).errors).toEqual({});
    expect(validateMoneyForm({ ...base, toAccountNumber: 'XB99 0001 2345 6789 02' }).errors).toEqual({});
  });

  it('limits the description', () => {
    expect(validateMoneyForm({ action: 'deposit', amount: '1', currency: 'EUR', description: 'x'.repeat(141) }).errors)
      .toEqual({ description: 'Keep the description under 140 characters.' });
  });
});

describe('validateFreeze', () => {
  it('needs a reason', () => {
    expect(validateFreeze('  ')).toEqual({ reason: 'Say why the account is frozen; the customer sees it.' });
    expect(validateFreeze('suspected fraud')).toEqual({});
  });
});
