/**
 * Signing in with the bank's OpenID Connect provider (the users service, at `<origin>/auth`):
 * the authorization request the sign-in screen sends the browser to, what this tab keeps of it
 * until the answer comes back, and reading that answer on `/callback`. See docs/oidc.md.
 */
import { isCodeVerifier } from './pkce';

/** The web app as the provider knows it: a public client (no secret; PKCE proves the code's owner). */
export const CLIENT_ID = 'bank-web';

/** `openid` is required; `email` and `profile` name the ID token's claims. */
export const SCOPE = 'openid email profile';

/** The provider's endpoints, on the app's own origin (NGINX serves both). */
export const AUTHORIZE_PATH = '/auth/authorize';
export const TOKEN_PATH = '/auth/token';
export const REVOKE_PATH = '/auth/revoke';

/** The issuer the provider names in `iss`: the app's origin and `/auth`. */
export const issuerFor = (origin: string) => `${origin}/auth`;

/** Where the provider sends the browser back: registered exactly as this. */
export const redirectUriFor = (origin: string) => `${origin}/callback`;

/** What this tab keeps between sending the browser to the provider and its answer. */
export interface PendingSignIn {
  /** Comes back with the answer: an answer to another request (or forged) is refused. */
  state: string;
  /** Comes back in the ID token: a token minted for another request is refused. */
  nonce: string;
  /** The PKCE code verifier: only this tab can exchange the code. */
  verifier: string;
}

/** The authorization request: the provider's login page for this sign-in. */
export function authorizationUrl(origin: string, request: PendingSignIn & { challenge: string }): string {
  const url = new URL(AUTHORIZE_PATH, origin);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: redirectUriFor(origin),
    scope: SCOPE,
    state: request.state,
    nonce: request.nonce,
    code_challenge: request.challenge,
    code_challenge_method: 'S256',
  }).toString();
  return url.toString();
}

/** The pending sign-in as stored (JSON); undefined when there is none or it is not one. */
export function readPendingSignIn(stored: string | null | undefined): PendingSignIn | undefined {
  if (!stored) return undefined;
  try {
    const value: unknown = JSON.parse(stored);
    if (typeof value !== 'object' || value === null) return undefined;
    const { state, nonce, verifier } = value as Record<string, unknown>;
    if (typeof state !== 'string' || !state || typeof nonce !== 'string' || !nonce) return undefined;
    if (typeof verifier !== 'string' || !isCodeVerifier(verifier)) return undefined;
    return { state, nonce, verifier };
  } catch {
    return undefined;
  }
}

/** The answer does not belong to the sign-in this tab started (or that one was finished already). */
export const STATE_MISMATCH_MESSAGE =
  'This sign-in was refused: it was not started in this browser tab, or it was finished already. Nobody is signed in. Please sign in again.';

/** `iss` names another issuer than the bank's (RFC 9207: a mix-up). */
export const ISSUER_MISMATCH_MESSAGE =
  'This sign-in was refused: the answer did not come from the bank’s sign-in page. Nobody is signed in. Please sign in again.';

/** Neither a code nor an error: the address was cut short or typed in. */
export const INCOMPLETE_CALLBACK_MESSAGE = 'This sign-in did not finish: the answer has no code. Please sign in again.';

/** The provider refused the request (`error=…`); its own code, when it is one, helps support. */
export function providerErrorMessage(error: string): string {
  if (error === 'access_denied') return 'Signing in was cancelled. Nobody is signed in.';
  const code = /^[a-z_]{1,40}$/.test(error) ? ` (${error})` : '';
  return `The bank’s sign-in page could not sign you in${code}. Nobody is signed in. Please sign in again.`;
}

export type CallbackAnswer =
  | { ok: true; code: string }
  | { ok: false; reason: 'state' | 'issuer' | 'provider' | 'incomplete'; message: string };

/**
 * Reads the provider's answer on `/callback` (`?code=…&state=…&iss=…`, or `?error=…&state=…`)
 * against the sign-in this tab started. The state is checked first, on errors too: an answer
 * that is not to this tab's request says nothing that can be trusted, not even its error.
 */
export function readCallback(
  search: string,
  expected: { pending: PendingSignIn | undefined; issuer: string },
): CallbackAnswer {
  const params = new URLSearchParams(search);
  const state = params.get('state');
  if (!expected.pending || state === null || state !== expected.pending.state) {
    return { ok: false, reason: 'state', message: STATE_MISMATCH_MESSAGE };
  }
  const iss = params.get('iss');
  if (iss !== null && iss !== expected.issuer) {
    return { ok: false, reason: 'issuer', message: ISSUER_MISMATCH_MESSAGE };
  }
  const error = params.get('error');
  if (error !== null) return { ok: false, reason: 'provider', message: providerErrorMessage(error) };
  const code = params.get('code');
  if (!code) return { ok: false, reason: 'incomplete', message: INCOMPLETE_CALLBACK_MESSAGE };
  return { ok: true, code };
}
