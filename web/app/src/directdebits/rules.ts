/**
 * The mandate form's checks, pure: the same rules the payments service applies (a SEPA creditor
 * identifier by its check digits, a creditor's name of 1 to 70 characters, a mandate reference
 * of 1 to 35 characters of the SEPA set, an optional limit in the account's currency, one of the
 * person's active accounts), so people learn what is wrong next to the field without a round
 * trip. The service checks everything again.
 */
import { mod97 } from '../lib/mod97';
import { compareAmounts, parseAmount } from '../lib/money';
import type { FieldErrors } from '../lib/validation';

export const CREDITOR_ID_EXAMPLE = 'DE98ZZZ09999999999';
export const MAX_NAME_LENGTH = 70;
export const MAX_REFERENCE_LENGTH = 35;

// What the service counts as control characters (Unicode's Cc).
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Characters as the service counts them (code points, not UTF-16 units). */
const length = (text: string) => [...text].length;

/** What people type ("de98 zzz 0999…") as the service stores it ("DE98ZZZ0999…"). */
export function normalizeCreditorId(input: string): string {
  // ASCII only, like the service: "ß" must not turn into "SS" and pass.
  return input.replace(/\s+/g, '').replace(/[a-z]+/g, (letters) => letters.toUpperCase());
}

/** "DE98ZZZ09999999999" → "DE98 ZZZ0 9999 9999 99", easier to compare with a letter. */
export function formatCreditorId(creditorId: string): string {
  return normalizeCreditorId(creditorId).replace(/(.{4})(?=.)/g, '$1 ');
}

/**
 * What is wrong with a SEPA creditor identifier as typed, or undefined when the service will
 * take it: two letters for the country, two check digits, three letters or digits for the
 * business code, then 1 to 28 for the national identifier (8 to 35 in all). The check digits
 * are ISO 7064 mod 97-10 over the national identifier and the country, without the business code.
 */
export function creditorIdProblem(input: string): string | undefined {
  const id = normalizeCreditorId(input);
  if (!id) return 'Enter the creditor identifier.';
  if (!/^[A-Z0-9]*$/.test(id)) return 'A creditor identifier has only letters and digits (spaces are fine).';
  if (!/^[A-Z]{2}\d{2}/.test(id)) {
    return `A creditor identifier starts with two letters for the country and two check digits, like ${CREDITOR_ID_EXAMPLE}.`;
  }
  if (id.length < 8) return 'This creditor identifier is too short: it has 8 to 35 letters and digits.';
  if (id.length > 35) return 'This creditor identifier is too long: it has 8 to 35 letters and digits.';
  if (mod97(id.slice(7) + id.slice(0, 4)) !== 1) {
    return 'This creditor identifier’s check digits do not match: look for a mistyped or missing character.';
  }
  return undefined;
}

export const isValidCreditorId = (input: string) => creditorIdProblem(input) === undefined;

/** What is wrong with the creditor's name, or undefined. */
export function creditorNameProblem(input: string): string | undefined {
  const name = input.trim();
  if (!name) return 'Enter the creditor’s name.';
  if (length(name) > MAX_NAME_LENGTH) return `Keep the name to ${MAX_NAME_LENGTH} characters.`;
  if (CONTROL.test(name)) return 'The name cannot contain line breaks or control characters.';
  return undefined;
}

// The SEPA character set for references: letters, digits, space and / - ? : ( ) . , ' +
const REFERENCE = /^[A-Za-z0-9 /\-?:().,'+]*$/;

/** What is wrong with the creditor's mandate reference, or undefined. */
export function referenceProblem(input: string): string | undefined {
  const reference = input.trim();
  if (!reference) return 'Enter the mandate reference the creditor gave you.';
  if (length(reference) > MAX_REFERENCE_LENGTH) {
    return `A mandate reference has at most ${MAX_REFERENCE_LENGTH} characters (this one has ${length(reference)}).`;
  }
  if (!REFERENCE.test(reference)) {
    return "A mandate reference has only letters, digits, spaces and / - ? : ( ) . , ' + (no accents).";
  }
  return undefined;
}

export type ParsedLimit = { ok: true; amount: string | null } | { ok: false; error: string };

/** The optional limit per collection: none when empty, else a positive amount in `currency`. */
export function parseLimit(input: string, currency: string): ParsedLimit {
  if (!input.trim()) return { ok: true, amount: null };
  const parsed = parseAmount(input, currency);
  if (parsed.ok) return parsed;
  // parseAmount speaks of "the amount"; here it is the limit.
  return { ok: false, error: parsed.error.replace('The amount', 'The limit').replace('the amount', 'the limit') };
}

export interface AccountLike {
  id: string;
  currency: string;
  status: string;
}

export interface MandateLike {
  creditorId: string;
  creditorName: string;
  reference: string;
  status: string;
  maxAmount?: { amount: string; currency: string } | null;
  account: { id: string };
}

/** The accounts a mandate can be given for: active ones (frozen and closed accounts cannot pay). */
export function mandateAccounts<A extends AccountLike>(accounts: readonly A[]): A[] {
  return accounts.filter((account) => account.status === 'ACTIVE');
}

/** The person's own mandate this creditor's reference already names, if any. */
export function mandateWithReference<M extends MandateLike>(mandates: readonly M[], creditorId: string, reference: string): M | undefined {
  const id = normalizeCreditorId(creditorId);
  const wanted = reference.trim();
  return mandates.find((mandate) => normalizeCreditorId(mandate.creditorId) === id && mandate.reference === wanted);
}

export interface MandateForm {
  accountId: string;
  creditorName: string;
  creditorId: string;
  reference: string;
  maxAmount: string;
}

export interface MandateInput {
  accountId: string;
  creditorName: string;
  creditorId: string;
  reference: string;
  maxAmount: string | null;
}

export interface CheckedMandate {
  errors: FieldErrors;
  /** What `createMandate` gets when the form is valid. */
  input?: MandateInput;
  /** The currency of the chosen account. */
  currency?: string;
}

export const REFERENCE_TAKEN = 'This creditor already has a mandate with this reference.';

/** Whether an existing mandate is the one the input would record (the service then returns it). */
function sameMandate(mandate: MandateLike, input: MandateInput): boolean {
  if (mandate.status !== 'ACTIVE' || mandate.account.id !== input.accountId || mandate.creditorName !== input.creditorName) return false;
  const limit = mandate.maxAmount;
  if (!limit || input.maxAmount === null) return !limit && input.maxAmount === null;
  return compareAmounts(limit.amount, input.maxAmount, limit.currency) === 0;
}

export function validateMandate(form: MandateForm, accounts: readonly AccountLike[], mandates: readonly MandateLike[] = []): CheckedMandate {
  const errors: FieldErrors = {};
  const usable = mandateAccounts(accounts);
  const account = usable.find((a) => a.id === form.accountId);
  if (usable.length === 0) errors.accountId = 'You need an active account to give a mandate for. Open one first.';
  else if (!account) errors.accountId = 'Choose the account the creditor collects from.';

  const name = creditorNameProblem(form.creditorName);
  if (name) errors.creditorName = name;
  const creditorId = creditorIdProblem(form.creditorId);
  if (creditorId) errors.creditorId = creditorId;
  const reference = referenceProblem(form.reference);
  if (reference) errors.reference = reference;

  let maxAmount: string | null | undefined;
  if (account) {
    const limit = parseLimit(form.maxAmount, account.currency);
    if (limit.ok) maxAmount = limit.amount;
    else errors.maxAmount = limit.error;
  }

  if (Object.values(errors).some(Boolean) || !account || maxAmount === undefined) return { errors, currency: account?.currency };
  const input: MandateInput = {
    accountId: account.id,
    creditorName: form.creditorName.trim(),
    creditorId: normalizeCreditorId(form.creditorId),
    reference: form.reference.trim(),
    maxAmount,
  };
  // A creditor's reference names one mandate: only the very same one may be given again.
  const existing = mandateWithReference(mandates, input.creditorId, input.reference);
  if (existing && !sameMandate(existing, input)) {
    return { errors: { reference: REFERENCE_TAKEN }, currency: account.currency };
  }
  return { errors, currency: account.currency, input };
}
