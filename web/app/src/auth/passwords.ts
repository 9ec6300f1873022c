/**
 * Forgotten and changed passwords: the token the e-mailed reset link carries
 * (`/reset-password?token=…`), and what the pages say when the bank refuses.
 */
import { describeError, type Described, type FailureLike } from '../lib/errors';
import { verificationToken } from './verification';

/** The token in the reset link's query string, without stray spaces; undefined when there is none. */
export const resetToken = (search: string): string | undefined => verificationToken(search);

/** A reset link opened without its token (cut short by a mail program, or typed in). */
export const MISSING_RESET_TOKEN_MESSAGE =
  'This link is incomplete: it has no reset code. Open the link from the e-mail we sent you, whole, or ask for a new one.';

/** `resetPassword` refused the link (UNAUTHENTICATED): unknown, used already, or older than an hour. */
export const RESET_LINK_REFUSED_MESSAGE =
  'This link has expired or was already used. Reset links work once, for an hour: ask for a new one.';

/** The account the link is for was disabled by the bank (FORBIDDEN, after the password was set). */
export const RESET_DISABLED_MESSAGE = 'Your new password is set, but this account is disabled: please contact the bank.';

/** `changePassword` refused the current password (UNAUTHENTICATED). */
export const WRONG_CURRENT_PASSWORD_MESSAGE = 'Your current password is not right. Check it and try again.';

/** `changePassword` answered FORBIDDEN: the bank disabled the account. */
export const CHANGE_FORBIDDEN_MESSAGE = 'This account is disabled: please contact the bank.';

/** The fields of the password forms the bank may name in a BAD_USER_INPUT. */
const NEW_PASSWORD_FIELDS = new Set(['newPassword', 'password']);

/**
 * A failed reset: a refused link in the words above (with a way to ask for a new one beside it),
 * a weak password in the bank's words next to the new password, a rate limit as everywhere.
 */
export function describeResetFailure(failure: FailureLike | null | undefined): Described {
  const described = describeError(failure, { UNAUTHENTICATED: RESET_LINK_REFUSED_MESSAGE, FORBIDDEN: RESET_DISABLED_MESSAGE });
  return normalizeField(described);
}

/**
 * A failed change: a wrong current password (next to that field), a weak new one (next to the
 * new password, in the bank's words), repeated wrong passwords as a wait (LIMIT_EXCEEDED "too
 * many failed sign-ins; try again in 30 s" is a rate limit).
 */
export function describeChangeFailure(failure: FailureLike | null | undefined): Described {
  const described = describeError(failure, { UNAUTHENTICATED: WRONG_CURRENT_PASSWORD_MESSAGE, FORBIDDEN: CHANGE_FORBIDDEN_MESSAGE });
  return normalizeField(described);
}

/** The bank's words for a weak password name "the password": the forms call that field newPassword. */
function normalizeField(described: Described): Described {
  if (described.code === 'BAD_USER_INPUT' && described.field && NEW_PASSWORD_FIELDS.has(described.field)) {
    return { ...described, field: 'newPassword' };
  }
  return described;
}

/** Which field of a password form an answer belongs next to, if any. */
export function fieldFor(described: Described, fields: readonly string[]): string | undefined {
  if (described.code === 'UNAUTHENTICATED' && fields.includes('currentPassword')) return 'currentPassword';
  if (described.code === 'BAD_USER_INPUT' && described.field && fields.includes(described.field)) return described.field;
  return undefined;
}
