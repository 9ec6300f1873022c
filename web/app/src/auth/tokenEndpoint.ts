/**
 * The provider's token and revocation endpoints (`/auth/token`, `/auth/revoke`): form posts
 * without the access token, answered with JSON (RFC 6749 §5, RFC 7009), and what their
 * failures say to people, in the words the rest of the app uses (lib/errors.ts).
 */
import {
  ERROR_MESSAGES,
  NETWORK_MESSAGE,
  RATE_LIMITED_MESSAGE,
  UNKNOWN_MESSAGE,
  type Described,
} from '../lib/errors';
import { CLIENT_ID, REVOKE_PATH, TOKEN_PATH } from './authorization';

/** What the token endpoint gives: the API's access token, a refresh token, and an ID token after a code. */
export interface TokenSet {
  accessToken: string;
  refreshToken: string;
  /** Seconds the access token lives. */
  expiresIn: number;
  idToken?: string;
}

export type TokenAnswer = { ok: true; tokens: TokenSet } | { ok: false; failure: Described };

/** Which grant was asked for: a refused one means something else to the person. */
export type Grant = 'code' | 'refresh';

/** The code is spent, expired (60 s) or was not issued for this tab's verifier. */
export const CODE_REFUSED_MESSAGE =
  'This sign-in has expired or was used already. Nobody is signed in. Please sign in again.';

/**
 * A failed answer in words: NGINX's 429 as a rate limit (nothing reached the provider; the same
 * request can be sent again), the provider being unavailable as the bank's failure (try again),
 * `invalid_grant` as a refusal (the code or the session is gone: sign in again), anything else
 * as something to start again.
 */
export function describeTokenFailure(status: number, body: unknown, grant: Grant): Described {
  if (status === 429) return { code: 'RATE_LIMITED', message: RATE_LIMITED_MESSAGE, retryable: true };
  const error = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).error : undefined;
  if (error === 'invalid_grant') {
    const message = grant === 'code' ? CODE_REFUSED_MESSAGE : ERROR_MESSAGES.UNAUTHENTICATED;
    return { code: 'UNAUTHENTICATED', message, retryable: false };
  }
  if (error === 'temporarily_unavailable' || status >= 500) {
    return { code: 'INTERNAL', message: ERROR_MESSAGES.INTERNAL, retryable: true };
  }
  return { code: 'UNKNOWN', message: UNKNOWN_MESSAGE, retryable: false };
}

/** The token endpoint's answer: the tokens, or the failure in words. */
export function readTokenAnswer(status: number, body: unknown, grant: Grant): TokenAnswer {
  if (status !== 200) return { ok: false, failure: describeTokenFailure(status, body, grant) };
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const { access_token, refresh_token, expires_in, id_token, token_type } = fields;
  const usable =
    typeof access_token === 'string' &&
    access_token !== '' &&
    typeof refresh_token === 'string' &&
    refresh_token !== '' &&
    typeof expires_in === 'number' &&
    Number.isFinite(expires_in) &&
    (token_type === undefined || (typeof token_type === 'string' && token_type.toLowerCase() === 'bearer')) &&
    (grant === 'refresh' || (typeof id_token === 'string' && id_token !== ''));
  if (!usable) return { ok: false, failure: { code: 'UNKNOWN', message: UNKNOWN_MESSAGE, retryable: false } };
  return {
    ok: true,
    tokens: {
      accessToken: access_token,
      refreshToken: refresh_token,
      expiresIn: expires_in,
      ...(typeof id_token === 'string' ? { idToken: id_token } : {}),
    },
  };
}

type Fetch = (input: string, init: RequestInit) => Promise<Response>;

const form = (fields: Record<string, string>): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
  body: new URLSearchParams(fields).toString(),
  // Tokens are for this tab, never for a cache.
  cache: 'no-store',
  credentials: 'omit',
});

/** Exchanges an authorization code (with the PKCE verifier) for tokens. */
export function exchangeCode(
  request: { code: string; redirectUri: string; verifier: string },
  fetcher: Fetch = fetch,
): Promise<TokenAnswer> {
  return post(
    { grant_type: 'authorization_code', client_id: CLIENT_ID, code: request.code, redirect_uri: request.redirectUri, code_verifier: request.verifier },
    'code',
    fetcher,
  );
}

/** Exchanges the refresh token for a new pair (it rotates: the one sent is spent). */
export function refreshTokens(refreshToken: string, fetcher: Fetch = fetch): Promise<TokenAnswer> {
  return post({ grant_type: 'refresh_token', client_id: CLIENT_ID, refresh_token: refreshToken }, 'refresh', fetcher);
}

async function post(fields: Record<string, string>, grant: Grant, fetcher: Fetch): Promise<TokenAnswer> {
  let response: Response;
  try {
    response = await fetcher(TOKEN_PATH, form(fields));
  } catch {
    return { ok: false, failure: { code: 'NETWORK', message: NETWORK_MESSAGE, retryable: true } };
  }
  const body: unknown = await response.json().catch(() => undefined);
  return readTokenAnswer(response.status, body, grant);
}

/** Ends the refresh token's session (RFC 7009); whether the provider said so (200). */
export async function revokeToken(refreshToken: string, fetcher: Fetch = fetch): Promise<boolean> {
  try {
    const response = await fetcher(REVOKE_PATH, form({ token: refreshToken, client_id: CLIENT_ID }));
    return response.ok;
  } catch {
    return false;
  }
}
