/**
 * Form validation, pure: each function returns a map from field name to message; an empty map
 * means the form may be sent. The API checks everything again; these checks only spare people a
 * round trip and say what is wrong next to the field.
 */
import { parseAmount } from './money';

export type FieldErrors = Partial<Record<string, string>>;

export const hasErrors = (errors: FieldErrors) => Object.values(errors).some(Boolean);

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const EMAIL_MESSAGE = 'Enter your e-mail address, like name@example.com.';

/**
 * What is wrong with a new password, by the users service's rules: 10 to 128 characters, a
 * letter and a digit, not the e-mail address (checked when it is known). Undefined when it fits.
 */
export function passwordProblem(password: string, email?: string): string | undefined {
  if (password.length < 10) return 'Use at least 10 characters.';
  if (password.length > 128) return 'Use at most 128 characters.';
  if (!/\p{L}/u.test(password) || !/\p{N}/u.test(password)) return 'Use at least one letter and one digit.';
  if (email?.trim() && password.trim().toLowerCase() === email.trim().toLowerCase()) {
    return 'The password must not be your e-mail address.';
  }
  return undefined;
}

/** The same rules as the users service: 10 to 128 characters, a letter and a digit, not the e-mail. */
export function validateSignUp(form: { fullName: string; email: string; password: string }): FieldErrors {
  const errors: FieldErrors = {};
  if (!form.fullName.trim()) errors.fullName = 'Enter your full name.';
  else if (form.fullName.trim().length > 200) errors.fullName = 'The name is too long.';
  if (!EMAIL.test(form.email.trim())) errors.email = EMAIL_MESSAGE;
  const problem = passwordProblem(form.password, form.email);
  if (problem) errors.password = problem;
  return errors;
}

/** Asking for a password-reset link: an e-mail address. */
export function validateForgotPassword(form: { email: string }): FieldErrors {
  return EMAIL.test(form.email.trim()) ? {} : { email: EMAIL_MESSAGE };
}

/** A new password typed twice (`confirm` must be the same), by the service's rules. */
function checkNewPassword(form: { newPassword: string; confirmPassword: string }, email?: string): FieldErrors {
  const errors: FieldErrors = {};
  const problem = passwordProblem(form.newPassword, email);
  if (problem) errors.newPassword = problem;
  if (!form.confirmPassword) errors.confirmPassword = 'Enter the new password again.';
  else if (form.confirmPassword !== form.newPassword) errors.confirmPassword = 'The two passwords are not the same.';
  return errors;
}

/**
 * Choosing a new password from the e-mailed reset link. The page does not know the address the
 * link is for: the service refuses a password that is the address (shown next to the field).
 */
export function validateResetPassword(form: { newPassword: string; confirmPassword: string }): FieldErrors {
  return checkNewPassword(form);
}

/** Changing the password while signed in: the current one, and a new one twice (not the same as the current one). */
export function validateChangePassword(
  form: { currentPassword: string; newPassword: string; confirmPassword: string },
  email?: string,
): FieldErrors {
  const errors = checkNewPassword(form, email);
  if (!form.currentPassword) errors.currentPassword = 'Enter your current password.';
  else if (!errors.newPassword && form.newPassword === form.currentPassword) {
    errors.newPassword = 'Choose a password different from the current one.';
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
