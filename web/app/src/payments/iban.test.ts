import { describe, expect, it } from 'vitest';
import { mod97 } from '../lib/mod97';
import { formatIban, ibanProblem, isValidIban, normalizeIban } from './iban';

/** Check digits for a country and account part, the way banks make them. */
function withCheckDigits(country: string, bban: string): string {
  const check = 98 - mod97(`${bban}${country}00`);
  return `${country}${String(check).padStart(2, '0')}${bban}`;
}

const VALID = [
  'DE89 3704 0044 0532 0130 00',
  'GB82 WEST 1234 5698 7654 32',
  'FR14 2004 1010 0505 0001 3M02 606',
  'NL91 ABNA 0417 1643 00',
  'BE71 0961 2345 6769',
  'NO93 8601 1117 947', // 15 characters, the shortest
  'LC55 HEMM 0001 0001 0012 0012 0002 3015',
];

describe('IBAN check digits (ISO 7064 mod 97-10), as the payments service checks them', () => {
  it('accepts real IBANs, with or without spaces, in any case', () => {
    for (const iban of VALID) {
      expect(ibanProblem(iban), iban).toBeUndefined();
      expect(isValidIban(iban.replace(/ /g, '')), iban).toBe(true);
      expect(isValidIban(iban.toLowerCase()), iban).toBe(true);
    }
    expect(isValidIban('  de89 3704\t0044 0532 0130 00 ')).toBe(true);
  });

  it('the same cases as the service: one digit off, check digits swapped, too short, not an IBAN', () => {
    expect(normalizeIban('de89 3704 0044 0532 0130 00')).toBe('DE89370400440532013000');
    expect(isValidIban('GB82WEST12345698765432')).toBe(true);
    expect(ibanProblem('DE89370400440532013001')).toMatch(/check digits do not match/);
    expect(ibanProblem('DE98370400440532013000')).toMatch(/check digits do not match/);
    expect(ibanProblem('DE89')).toMatch(/too short/);
    expect(ibanProblem('not an iban at all')).toMatch(/starts with two letters/);
  });

  it('catches every single mistyped character and every swap of neighbours', () => {
    const iban = normalizeIban(VALID[0]);
    for (let i = 0; i < iban.length; i++) {
      const digits = i < 2 ? 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' : '0123456789';
      for (const replacement of digits) {
        if (replacement === iban[i]) continue;
        const typo = iban.slice(0, i) + replacement + iban.slice(i + 1);
        expect(isValidIban(typo), typo).toBe(false);
      }
      if (i + 1 < iban.length && iban[i] !== iban[i + 1] && i !== 1) {
        const swapped = iban.slice(0, i) + iban[i + 1] + iban[i] + iban.slice(i + 2);
        expect(isValidIban(swapped), swapped).toBe(false);
      }
    }
  });

  it('bounds the length to 15 to 34 characters', () => {
    expect(isValidIban(withCheckDigits('XK', '1'.repeat(11)))).toBe(true); // 15
    expect(ibanProblem(withCheckDigits('XK', '1'.repeat(10)))).toMatch(/too short/); // 14
    expect(isValidIban(withCheckDigits('LC', 'A1'.repeat(15)))).toBe(true); // 34
    expect(ibanProblem(withCheckDigits('LC', `${'A1'.repeat(15)}2`))).toMatch(/too long/); // 35
  });

  it('says what is wrong in words', () => {
    expect(ibanProblem('')).toBe('Enter the IBAN.');
    expect(ibanProblem('   ')).toBe('Enter the IBAN.');
    expect(ibanProblem('DE89-3704-0044-0532-0130-00')).toMatch(/only letters and digits/);
    expect(ibanProblem('1234 5678 9012 3456')).toMatch(/^An IBAN starts with two letters for the country and two check digits/);
    expect(ibanProblem('DEXX 3704 0044 0532 0130 00')).toMatch(/starts with two letters/);
    expect(ibanProblem('ÄE89 3704 0044 0532 0130 00')).toMatch(/only letters and digits/);
  });

  it('upper-cases ASCII letters only, like the service', () => {
    expect(normalizeIban('ßx')).toBe('ßX');
  });

  it('prints IBANs in groups of four', () => {
    expect(formatIban('DE89370400440532013000')).toBe('DE89 3704 0044 0532 0130 00');
    expect(formatIban('no93 8601 1117947')).toBe('NO93 8601 1117 947');
  });
});
