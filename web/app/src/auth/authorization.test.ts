import { describe, expect, it } from 'vitest';
import {
  INCOMPLETE_CALLBACK_MESSAGE,
  ISSUER_MISMATCH_MESSAGE,
  STATE_MISMATCH_MESSAGE,
  authorizationUrl,
  issuerFor,
  providerErrorMessage,
  readCallback,
  readPendingSignIn,
  redirectUriFor,
  type PendingSignIn,
} from './authorization';

const ORIGIN = 'https://localhost:8443';
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const pending: PendingSignIn = { state: 'st4te-value', nonce: 'n0nce-value', verifier: VERIFIER };

describe('the authorization request', () => {
  const url = new URL(authorizationUrl(ORIGIN, { ...pending, challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM' }));

  it("goes to the provider's authorization endpoint on the app's origin", () => {
    expect(url.origin).toBe(ORIGIN);
    expect(url.pathname).toBe('/auth/authorize');
  });

  it('asks for a code for bank-web, back at /callback, with PKCE S256, state and nonce', () => {
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: 'code',
      client_id: 'bank-web',
      redirect_uri: 'https://localhost:8443/callback',
      scope: 'openid email profile',
      state: 'st4te-value',
      nonce: 'n0nce-value',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    });
  });

  it('never carries the verifier', () => {
    expect(url.toString()).not.toContain(VERIFIER);
  });

  it('encodes what needs encoding', () => {
    const odd = new URL(authorizationUrl(ORIGIN, { ...pending, state: 'a b&c=d', challenge: 'x' }));
    expect(odd.searchParams.get('state')).toBe('a b&c=d');
    expect(odd.search).toContain('scope=openid+email+profile');
  });

  it('names the issuer and the redirect URI from the origin', () => {
    expect(issuerFor(ORIGIN)).toBe('https://localhost:8443/auth');
    expect(redirectUriFor('https://bank.example')).toBe('https://bank.example/callback');
  });
});

describe('the pending sign-in as stored', () => {
  it('is read back', () => {
    expect(readPendingSignIn(JSON.stringify(pending))).toEqual(pending);
  });

  it('is nothing when missing, broken or incomplete', () => {
    expect(readPendingSignIn(null)).toBeUndefined();
    expect(readPendingSignIn('')).toBeUndefined();
    expect(readPendingSignIn('{not json')).toBeUndefined();
    expect(readPendingSignIn('"a string"')).toBeUndefined();
    expect(readPendingSignIn(JSON.stringify({ ...pending, state: '' }))).toBeUndefined();
    expect(readPendingSignIn(JSON.stringify({ ...pending, nonce: 7 }))).toBeUndefined();
    expect(readPendingSignIn(JSON.stringify({ ...pending, verifier: 'short' }))).toBeUndefined();
  });
});

describe("the provider's answer on /callback", () => {
  const expected = { pending, issuer: 'https://localhost:8443/auth' };
  const iss = encodeURIComponent(expected.issuer);

  it('gives the code when the state is this tab’s and the issuer the bank’s', () => {
    expect(readCallback(`?code=c0de&state=st4te-value&iss=${iss}`, expected)).toEqual({ ok: true, code: 'c0de' });
    // iss is optional (RFC 9207): checked when present.
    expect(readCallback('?code=c0de&state=st4te-value', expected)).toEqual({ ok: true, code: 'c0de' });
  });

  it('refuses another state, no state, or no sign-in started in this tab', () => {
    const refused = { ok: false, reason: 'state', message: STATE_MISMATCH_MESSAGE };
    expect(readCallback(`?code=c0de&state=tampered&iss=${iss}`, expected)).toEqual(refused);
    expect(readCallback(`?code=c0de&state=st4te-valu&iss=${iss}`, expected)).toEqual(refused);
    expect(readCallback(`?code=c0de&iss=${iss}`, expected)).toEqual(refused);
    expect(readCallback('?code=c0de&state=', expected)).toEqual(refused);
    expect(readCallback('?code=c0de&state=st4te-value', { ...expected, pending: undefined })).toEqual(refused);
  });

  it("checks the state before trusting an error: another request's error is refused as such", () => {
    expect(readCallback('?error=access_denied&state=tampered', expected)).toMatchObject({ ok: false, reason: 'state' });
  });

  it('refuses an answer naming another issuer', () => {
    expect(readCallback('?code=c0de&state=st4te-value&iss=https%3A%2F%2Fevil.example%2Fauth', expected)).toEqual({
      ok: false,
      reason: 'issuer',
      message: ISSUER_MISMATCH_MESSAGE,
    });
  });

  it("says the provider's error in words, with its code when it is one", () => {
    expect(readCallback('?error=invalid_request&error_description=PKCE&state=st4te-value', expected)).toEqual({
      ok: false,
      reason: 'provider',
      message: 'The bank’s sign-in page could not sign you in (invalid_request). Nobody is signed in. Please sign in again.',
    });
    expect(providerErrorMessage('access_denied')).toBe('Signing in was cancelled. Nobody is signed in.');
    // Anything else is not repeated: the address can be written by anyone.
    expect(providerErrorMessage('<b>call us</b>')).toBe(
      'The bank’s sign-in page could not sign you in. Nobody is signed in. Please sign in again.',
    );
  });

  it('says an answer without a code is incomplete', () => {
    expect(readCallback('?state=st4te-value', expected)).toEqual({
      ok: false,
      reason: 'incomplete',
      message: INCOMPLETE_CALLBACK_MESSAGE,
    });
    expect(readCallback('?code=&state=st4te-value', expected)).toMatchObject({ reason: 'incomplete' });
  });
});
