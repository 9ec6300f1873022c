/**
 * PKCE (RFC 7636) and the random values of a sign-in: the code verifier and its S256 challenge,
 * and the `state` and `nonce` that tie the provider's answer to the request this tab sent.
 */

/** Bytes as base64url without padding (RFC 4648 §5), as PKCE and JWTs write them. */
export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** base64url (padded or not) back to bytes; undefined when it is not base64url. */
export function fromBase64url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(text)) return undefined;
  const base64 = text.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
  if (base64.length % 4 === 1) return undefined;
  try {
    const binary = atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '='));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

type RandomSource = (bytes: Uint8Array) => Uint8Array;

const cryptoRandom: RandomSource = (bytes) => crypto.getRandomValues(bytes);

/**
 * A random value in base64url: `bytes` random bytes (32 by default: 256 bits, 43 characters).
 * Used for the code verifier, `state` and `nonce`.
 */
export function randomValue(bytes = 32, random: RandomSource = cryptoRandom): string {
  return base64url(random(new Uint8Array(bytes)));
}

/** What RFC 7636 allows as a code verifier: 43 to 128 unreserved characters. */
export function isCodeVerifier(verifier: string): boolean {
  return /^[A-Za-z0-9._~-]{43,128}$/.test(verifier);
}

/** The S256 code challenge: base64url(SHA-256(verifier)). Needs a secure context (HTTPS). */
export async function codeChallenge(verifier: string, subtle: SubtleCrypto = crypto.subtle): Promise<string> {
  if (!isCodeVerifier(verifier)) throw new Error('a code verifier has 43 to 128 unreserved characters');
  const digest = await subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}
