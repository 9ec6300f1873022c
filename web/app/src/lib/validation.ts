/**
 * Form validation, pure: each function returns a map from field name to message; an empty map
 * means the form may be sent. The API checks everything again; these checks only spare people a
 * round trip and say what is wrong next to the field.
 */
import { parseAmount } from './money';

export type FieldErrors = Partial<Record<string, string>>;

export const hasErrors = (errors: FieldErrors) => Object.values(errors).some(Boolean);

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The same rules as the users service: 10 to 128 characters, a letter and a digit, not the e-mail. */
export function validateSignUp(form: { fullName: string; email: string; password: string }): FieldErrors {
  const errors: FieldErrors = {};
  if (!form.fullName.trim()) errors.fullName = 'Enter your full name.';
  else if (form.fullName.trim().length > 200) errors.fullName = 'The name is too long.';
  if (!EMAIL.test(form.email.trim())) errors.email = 'Enter your e-mail address, like name@example.com.';
  const password = form.password;
  if (password.length < 10) errors.password = 'Use at least 10 characters.';
  else if (password.length > 128) errors.password = 'Use at most 128 characters.';
  else if (!/\p{L}/u.test(password) || !/\p{N}/u.test(password)) {
    errors.password = 'Use at least one letter and one digit.';
  } else if (password.trim().toLowerCase() === form.email.trim().toLowerCase()) {
    errors.password = 'The password must not be your e-mail address.';
  }
  return errors;
}

/** Confirming an e-mail address: the password chosen at sign-up (the link alone is not enough). */
export function validateVerifyEmail(form: { password: string }): FieldErrors {
  const errors: FieldErrors = {};
  if (!form.password) errors.password = 'Enter the password you chose when you signed up.';
  return errors;
}

/** An account number as people write it: letters and digits, spaces allowed (IBAN form). */
export function normalizeAccountNumber(input: string): string {
  return input.replace(/\s+/g, '').toUpperCase();
}

export function validateAccountNumber(input: string): string | undefined {
  const number = normalizeAccountNumber(input);
  if (!number) return 'Enter the account number.';
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{4,30}$/.test(number)) {
    return 'Enter an account number like XB12 0001 2345 6789 01.';
  }
  return undefined;
}

export type MoneyAction = 'deposit' | 'withdraw' | 'transfer';

export interface MoneyForm {
  action: MoneyAction;
  amount: string;
  currency: string;
  /** Transfer only: one of the person's own accounts (its id), or '' for a number typed in. */
  toAccountId?: string;
  toAccountNumber?: string;
  /** The account the money leaves (transfer), to refuse sending money to itself. */
  fromAccountId?: string;
  fromAccountNumber?: string;
  description?: string;
}

export interface ValidMoneyForm {
  errors: FieldErrors;
  /** The canonical amount, when valid. */
  amount?: string;
}

export function validateMoneyForm(form: MoneyForm): ValidMoneyForm {
  const errors: FieldErrors = {};
  const parsed = parseAmount(form.amount, form.currency);
  if (!parsed.ok) errors.amount = parsed.error;
  if (form.action === 'transfer') {
    if (form.toAccountId) {
      if (form.toAccountId === form.fromAccountId) errors.to = 'Choose a different account to send money to.';
    } else {
      const problem = validateAccountNumber(form.toAccountNumber ?? '');
      if (problem) errors.toAccountNumber = problem;
      else if (
        form.fromAccountNumber &&
        normalizeAccountNumber(form.toAccountNumber ?? '') === normalizeAccountNumber(form.fromAccountNumber)
      ) {
        errors.toAccountNumber = 'You cannot send money to the same account.';
      }
    }
  }
  if ((form.description ?? '').length > 140) errors.description = 'Keep the description under 140 characters.';
  return { errors, amount: parsed.ok ? parsed.amount : undefined };
}

export function validateFreeze(reason: string): FieldErrors {
  return reason.trim() ? {} : { reason: 'Say why the account is frozen; the customer sees it.' };
}
