import { describe, expect, it } from 'vitest';
import { checkIdToken, decodeIdToken } from './idToken';
import { base64url } from './pkce';

const encode = (value: unknown) => base64url(new TextEncoder().encode(JSON.stringify(value)));
const jwt = (payload: unknown) => `${encode({ alg: 'ES256', typ: 'JWT' })}.${encode(payload)}.c2lnbmF0dXJl`;

const expected = { issuer: 'https://localhost:8443/auth', clientId: 'bank-web', nonce: 'n0nce' };
const claims = {
  iss: 'https://localhost:8443/auth',
  sub: '0b9a8c1e-6f0e-4a57-9a43-1f1ad1c0de00',
  aud: 'bank-web',
  nonce: 'n0nce',
  auth_time: 1_700_000_000,
  email: 'zoë@example.com',
  email_verified: true,
  name: 'Zoë Ünicode',
};

describe('decoding an ID token', () => {
  it("reads the payload's claims, UTF-8 included", () => {
    expect(decodeIdToken(jwt(claims))).toEqual(claims);
  });

  it('is nothing for what is not a JWT with a JSON object inside', () => {
    expect(decodeIdToken(undefined)).toBeUndefined();
    expect(decodeIdToken('')).toBeUndefined();
    expect(decodeIdToken('a.b')).toBeUndefined();
    expect(decodeIdToken('a..c')).toBeUndefined();
    expect(decodeIdToken(`x.${base64url(new TextEncoder().encode('not json'))}.y`)).toBeUndefined();
    expect(decodeIdToken(`x.${encode([1, 2])}.y`)).toBeUndefined();
    expect(decodeIdToken(`x.${encode('text')}.y`)).toBeUndefined();
    expect(decodeIdToken('x.a+b/.y')).toBeUndefined();
  });
});

describe('checking an ID token against this sign-in', () => {
  it('accepts the issuer, this app as the audience and the nonce this tab sent', () => {
    expect(checkIdToken(claims, expected)).toBeUndefined();
    expect(checkIdToken({ ...claims, aud: ['bank-web'] }, expected)).toBeUndefined();
    expect(checkIdToken({ ...claims, aud: ['bank-web', 'other'], azp: 'bank-web' }, expected)).toBeUndefined();
  });

  it('refuses another nonce, or none', () => {
    expect(checkIdToken({ ...claims, nonce: 'replayed' }, expected)).toBe('nonce');
    expect(checkIdToken({ ...claims, nonce: undefined }, expected)).toBe('nonce');
    expect(checkIdToken({ ...claims, nonce: 7 }, expected)).toBe('nonce');
  });

  it('refuses a token for another client', () => {
    expect(checkIdToken({ ...claims, aud: 'other-app' }, expected)).toBe('audience');
    expect(checkIdToken({ ...claims, aud: undefined }, expected)).toBe('audience');
    expect(checkIdToken({ ...claims, aud: ['other-app'] }, expected)).toBe('audience');
    // Among several audiences only with azp naming this app.
    expect(checkIdToken({ ...claims, aud: ['bank-web', 'other-app'] }, expected)).toBe('audience');
    expect(checkIdToken({ ...claims, azp: 'other-app' }, expected)).toBe('audience');
  });

  it('refuses another issuer', () => {
    expect(checkIdToken({ ...claims, iss: 'https://evil.example/auth' }, expected)).toBe('issuer');
    expect(checkIdToken({ ...claims, iss: 'https://localhost:8443/auth/' }, expected)).toBe('issuer');
  });

  it('refuses a token without a subject, or none at all', () => {
    expect(checkIdToken({ ...claims, sub: '' }, expected)).toBe('subject');
    expect(checkIdToken(undefined, expected)).toBe('malformed');
  });
});
