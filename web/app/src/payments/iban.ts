/**
 * IBANs as the payments service checks them: spaces dropped and letters upper-cased, two letters
 * for the country, two check digits, then letters and digits, 15 to 34 in all, and the check
 * digits right by ISO 7064 mod 97-10. The same rules as the service, so a typo is caught next to
 * the field; the service checks again.
 */
import { mod97 } from '../lib/mod97';

export const IBAN_EXAMPLE = 'DE89 3704 0044 0532 0130 00';

/** What people type ("de89 3704 0044…") as the service stores it ("DE8937040044…"). */
export function normalizeIban(input: string): string {
  // ASCII only, like the service: "ß" must not turn into "SS" and pass.
  return input.replace(/\s+/g, '').replace(/[a-z]+/g, (letters) => letters.toUpperCase());
}

/** "DE89370400440532013000" → "DE89 3704 0044 0532 0130 00", the way IBANs are printed. */
export function formatIban(iban: string): string {
  return normalizeIban(iban).replace(/(.{4})(?=.)/g, '$1 ');
}

/** What is wrong with an IBAN as typed, or undefined when the service will take it. */
export function ibanProblem(input: string): string | undefined {
  const iban = normalizeIban(input);
  if (!iban) return 'Enter the IBAN.';
  if (!/^[A-Z0-9]*$/.test(iban)) return 'An IBAN has only letters and digits (spaces are fine).';
  if (!/^[A-Z]{2}\d{2}/.test(iban)) {
    return `An IBAN starts with two letters for the country and two check digits, like ${IBAN_EXAMPLE}.`;
  }
  if (iban.length < 15) return 'This IBAN is too short: an IBAN has 15 to 34 letters and digits.';
  if (iban.length > 34) return 'This IBAN is too long: an IBAN has 15 to 34 letters and digits.';
  if (mod97(iban.slice(4) + iban.slice(0, 4)) !== 1) {
    return 'This IBAN’s check digits do not match: look for a mistyped or missing character.';
  }
  return undefined;
}

export const isValidIban = (input: string) => ibanProblem(input) === undefined;
