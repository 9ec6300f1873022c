import { describe, expect, it } from 'vitest';
import { base64url, codeChallenge, fromBase64url, isCodeVerifier, randomValue } from './pkce';

describe('base64url', () => {
  it('writes bytes without padding, with - and _', () => {
    expect(base64url(new Uint8Array([]))).toBe('');
    expect(base64url(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
    expect(base64url(new TextEncoder().encode('any carnal pleas'))).toBe('YW55IGNhcm5hbCBwbGVhcw');
  });

  it('reads back what it wrote, padded or not', () => {
    const bytes = Uint8Array.from({ length: 40 }, (_, i) => (i * 37) % 256);
    expect(fromBase64url(base64url(bytes))).toEqual(bytes);
    expect(fromBase64url('-_8=')).toEqual(new Uint8Array([0xfb, 0xff]));
  });

  it('refuses what is not base64url', () => {
    expect(fromBase64url('a+b/')).toBeUndefined();
    expect(fromBase64url('a b')).toBeUndefined();
    expect(fromBase64url('abcde')).toBeUndefined();
  });
});

describe('random values', () => {
  it('are 32 bytes, 43 characters, by default', () => {
    const value = randomValue();
    expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(isCodeVerifier(value)).toBe(true);
  });

  it('come from the random source', () => {
    expect(randomValue(3, (bytes) => bytes.fill(0xff))).toBe('____');
  });

  it('differ each time', () => {
    const values = new Set(Array.from({ length: 50 }, () => randomValue()));
    expect(values.size).toBe(50);
  });
});

describe('the code verifier', () => {
  it('has 43 to 128 unreserved characters', () => {
    expect(isCodeVerifier('a'.repeat(43))).toBe(true);
    expect(isCodeVerifier('a-b.c_d~'.repeat(16))).toBe(true);
    expect(isCodeVerifier('a'.repeat(42))).toBe(false);
    expect(isCodeVerifier('a'.repeat(129))).toBe(false);
    expect(isCodeVerifier(`${'a'.repeat(42)}+`)).toBe(false);
  });
});

describe('the S256 code challenge', () => {
  it('is base64url(SHA-256(verifier)), as in RFC 7636 appendix B', async () => {
    expect(await codeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });

  it('is 43 characters, what the provider accepts', async () => {
    expect(await codeChallenge(randomValue())).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses a verifier PKCE does not allow', async () => {
    await expect(codeChallenge('too short')).rejects.toThrow();
  });
});
