/**
 * ISO 7064 mod 97-10, the check behind IBANs and SEPA creditor identifiers: letters count as
 * two digits (A = 10 … Z = 35) and the whole must leave 1 when divided by 97.
 */

/** The remainder modulo 97 of digits and letters (A = 10 … Z = 35), read left to right. */
export function mod97(text: string): number {
  let remainder = 0;
  for (const char of text) {
    const value = parseInt(char, 36);
    if (Number.isNaN(value)) throw new Error(`not a letter or digit: ${char}`);
    remainder = value < 10 ? (remainder * 10 + value) % 97 : (remainder * 100 + value) % 97;
  }
  return remainder;
}
