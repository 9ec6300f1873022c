/**
 * Confirming an e-mail address: the token the bank's e-mailed link carries
 * (`/verify-email?token=…`), and what the page says when it is missing or refused.
 */
import { describeError, type Described, type FailureLike } from '../lib/errors';

/** The token in the link's query string, without stray spaces; undefined when there is none. */
export function verificationToken(search: string): string | undefined {
  const token = new URLSearchParams(search).get('token')?.trim();
  return token || undefined;
}

/** A link opened without its token (cut short by a mail program, or typed in). */
export const MISSING_TOKEN_MESSAGE =
  'This link is incomplete: it has no confirmation code. Open the link from the e-mail we sent you, whole, or sign up again to get a new one.';

/**
 * `verifyEmail` refused (UNAUTHENTICATED): the bank does not say which of the two it was. The
 * page offers signing up again beside it, which sends a new link.
 */
export const VERIFY_REFUSED_MESSAGE =
  'We could not confirm your address: the password is wrong, or this link has expired or was already used. Check the password and try again.';

/** What a failed confirmation says: a refusal in the words above, anything else as everywhere else. */
export function describeVerifyFailure(failure: FailureLike | null | undefined): Described {
  return describeError(failure, { UNAUTHENTICATED: VERIFY_REFUSED_MESSAGE });
}
