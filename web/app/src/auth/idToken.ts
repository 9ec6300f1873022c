/**
 * The ID token from the code exchange. It comes straight from the provider's token endpoint,
 * over TLS, in answer to a request only this tab could make (the PKCE verifier), so its
 * signature is not checked again here (OpenID Connect Core 3.1.3.7, point 6); its payload is,
 * against this sign-in: the issuer, the audience (this app) and the nonce this tab sent.
 */
import { fromBase64url } from './pkce';

export interface IdTokenClaims {
  iss?: unknown;
  sub?: unknown;
  aud?: unknown;
  azp?: unknown;
  nonce?: unknown;
  email?: unknown;
  name?: unknown;
  [claim: string]: unknown;
}

/** The payload of a JWT (`header.payload.signature`) as JSON; undefined when it is not one. */
export function decodeIdToken(jwt: string | null | undefined): IdTokenClaims | undefined {
  const parts = (jwt ?? '').split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  const bytes = fromBase64url(parts[1]);
  if (!bytes) return undefined;
  try {
    const payload: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    return typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? (payload as IdTokenClaims) : undefined;
  } catch {
    return undefined;
  }
}

/** What is wrong with an ID token for this sign-in. */
export type IdTokenProblem = 'malformed' | 'issuer' | 'audience' | 'nonce' | 'subject';

/**
 * Checks the claims against this sign-in: `iss` the bank's issuer, `aud` this app (alone, or
 * among several with `azp` naming it), `nonce` the one this tab sent, a `sub`. Undefined when
 * they fit.
 */
export function checkIdToken(
  claims: IdTokenClaims | undefined,
  expected: { issuer: string; clientId: string; nonce: string },
): IdTokenProblem | undefined {
  if (!claims) return 'malformed';
  if (claims.iss !== expected.issuer) return 'issuer';
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(expected.clientId)) return 'audience';
  if (audiences.length > 1 && claims.azp !== expected.clientId) return 'audience';
  if (claims.azp !== undefined && claims.azp !== expected.clientId) return 'audience';
  if (typeof claims.nonce !== 'string' || claims.nonce !== expected.nonce) return 'nonce';
  if (typeof claims.sub !== 'string' || !claims.sub) return 'subject';
  return undefined;
}

/** What a refused ID token means for the person: nothing they can fix but starting again. */
export const ID_TOKEN_REFUSED_MESSAGE =
  'This sign-in was refused: the bank’s answer was not for this sign-in. Nobody is signed in. Please sign in again.';
