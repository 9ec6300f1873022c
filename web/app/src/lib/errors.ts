/**
 * Human messages for the API's error codes (`errors[].extensions.code`), and for the ways a
 * request can fail before the API answers.
 */

export const ERROR_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'INSUFFICIENT_FUNDS',
  'ACCOUNT_NOT_ACTIVE',
  'CURRENCY_MISMATCH',
  'IDEMPOTENCY_KEY_REUSED',
  'LIMIT_EXCEEDED',
  'SECOND_APPROVAL_REQUIRED',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export const ERROR_MESSAGES: Readonly<Record<ErrorCode, string>> = {
  UNAUTHENTICATED: 'Your session has ended. Please sign in again.',
  FORBIDDEN: 'You are not allowed to do that.',
  NOT_FOUND: 'We could not find that account. Check the number and try again.',
  BAD_USER_INPUT: 'Some of the details are not valid. Please check them and try again.',
  INSUFFICIENT_FUNDS: 'There is not enough money in the account for this.',
  ACCOUNT_NOT_ACTIVE: 'This account is frozen or closed, so no money can move on it.',
  CURRENCY_MISMATCH: 'Both accounts must be in the same currency.',
  IDEMPOTENCY_KEY_REUSED:
    'This submission was already used for different details. Please check the form and submit again.',
  LIMIT_EXCEEDED: 'This would go over the account’s limit (daily withdrawals or open accounts).',
  SECOND_APPROVAL_REQUIRED:
    'Your request is recorded, but a second member of staff must make the same request before it takes effect. Nothing has changed yet.',
  INTERNAL: 'Something went wrong on our side. Nothing was changed twice; please try again.',
};

export const NETWORK_MESSAGE = 'We could not reach the bank. Check your connection and try again.';
export const RATE_LIMITED_MESSAGE = 'Too many attempts in a short time. Please wait a minute and try again.';
export const UNKNOWN_MESSAGE = 'Something went wrong. Please try again.';

/** The shape of a GraphQL error as far as this module cares (urql's and plain JSON both fit). */
export interface ApiErrorLike {
  message?: string;
  extensions?: Record<string, unknown> | null;
}

/** What a failed request looked like: urql's CombinedError fits this. */
export interface FailureLike {
  graphQLErrors?: readonly ApiErrorLike[];
  networkError?: { message?: string } | Error | null;
  response?: { status?: number } | null;
}

export interface Described {
  code: ErrorCode | 'NETWORK' | 'RATE_LIMITED' | 'UNKNOWN';
  message: string;
  /** The input field the API complained about, when it said (BAD_USER_INPUT). */
  field?: string;
  /** Whether the outcome is unknown, so retrying the same submission (same key) is right. */
  retryable: boolean;
  /** How long the bank asked to wait before trying again, when it said (RATE_LIMITED). */
  waitSeconds?: number;
}

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code);
}

/**
 * Turns a failure into one message for people. BAD_USER_INPUT keeps the API's own wording (it
 * names the problem: "the password must have at least 10 characters"); other codes get the fixed
 * messages above, which never leak internals. `overrides` lets a screen say something more
 * precise (a wrong password at sign-in is UNAUTHENTICATED too).
 */
export function describeError(
  failure: FailureLike | null | undefined,
  overrides: Partial<Record<ErrorCode, string>> = {},
): Described {
  const first = failure?.graphQLErrors?.[0];
  const code = first?.extensions?.code;
  const throttled = code === 'LIMIT_EXCEEDED' ? throttleWait(first?.message ?? '') : undefined;
  if (throttled) {
    const waitSeconds = throttled.seconds;
    return { code: 'RATE_LIMITED', message: rateLimitedMessage(waitSeconds), retryable: true, ...(waitSeconds ? { waitSeconds } : {}) };
  }
  if (isErrorCode(code)) {
    const field = typeof first?.extensions?.field === 'string' ? first.extensions.field : undefined;
    let message = overrides[code] ?? ERROR_MESSAGES[code];
    if (code === 'BAD_USER_INPUT' && !overrides[code] && first?.message) {
      message = sentence(first.message);
    }
    return { code, message, field, retryable: code === 'INTERNAL' };
  }
  if (failure?.response?.status === 429 || /\b429\b|too many/i.test(failure?.networkError?.message ?? '')) {
    return { code: 'RATE_LIMITED', message: RATE_LIMITED_MESSAGE, retryable: true };
  }
  if (failure?.networkError) return { code: 'NETWORK', message: NETWORK_MESSAGE, retryable: true };
  return { code: 'UNKNOWN', message: UNKNOWN_MESSAGE, retryable: true };
}

/**
 * The users service slows down sign-ins with LIMIT_EXCEEDED: "too many failed sign-ins; try
 * again in 30 s", "too many sign-ins at once; try again in a moment". That is a rate limit (wait,
 * then the same request can succeed), unlike the other limits (open accounts, payees, a daily
 * withdrawal limit), which waiting does not lift.
 */
export function throttleWait(message: string): { seconds?: number } | undefined {
  if (!/^\s*too many\b.*\btry again\b/i.test(message)) return undefined;
  const seconds = message.match(/\btry again in (\d+)\s*s\b/i)?.[1];
  return seconds ? { seconds: Number(seconds) } : {};
}

/** "a minute", "30 seconds", "3 minutes": how long to wait, in words. */
export function waitText(seconds: number): string {
  if (seconds <= 1) return 'a second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? 'a minute' : `${minutes} minutes`;
}

/** What a rate-limited person is told: wait (as long as the bank said, else a minute), then try again. */
export function rateLimitedMessage(waitSeconds?: number): string {
  if (!waitSeconds) return RATE_LIMITED_MESSAGE;
  return `Too many attempts in a short time. Please wait ${waitText(waitSeconds)} and try again.`;
}

/** Whether waiting is the answer: NGINX's 429, or the bank slowing sign-ins down. */
export function isRateLimited(described: Pick<Described, 'code'> | null | undefined): boolean {
  return described?.code === 'RATE_LIMITED';
}

/** "the amount is invalid" → "The amount is invalid." */
export function sentence(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) return trimmed;
  const capital = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}
