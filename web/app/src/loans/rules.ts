/**
 * The loan forms' checks, pure: the same rules the loans service applies (the product's amount
 * and term range, the currency's decimals, an active account in the loan's currency, at most 200
 * characters of purpose, never more than is owed), so people learn what is wrong next to the
 * field without a round trip. The service checks everything again.
 */
import { compareAmounts, formatMoney, fromMinorUnits, parseAmount, toMinorUnits } from '../lib/money';
import type { FieldErrors } from '../lib/validation';

interface MoneyLike {
  amount: string;
  currency: string;
}

export interface ProductLike {
  code: string;
  name: string;
  currency: string;
  annualRate: string;
  minAmount: MoneyLike;
  maxAmount: MoneyLike;
  minTermMonths: number;
  maxTermMonths: number;
}

export interface AccountLike {
  id: string;
  currency: string;
  status: string;
}

/** "Personal loan in EUR": two products may share a name in different currencies. */
export function productLabel(product: Pick<ProductLike, 'name' | 'currency'>): string {
  return `${product.name} in ${product.currency}`;
}

/** "6.90% a year" ("No interest" at 0%). */
export function rateText(annualRate: string): string {
  return /^0*(\.0*)?$/.test(annualRate.trim()) ? 'No interest' : `${annualRate}% a year`;
}

/** "500.00 EUR to 25,000.00 EUR, over 6 to 84 months" */
export function rangeText(product: ProductLike): string {
  const amounts = `${formatMoney(product.minAmount.amount, product.currency)} to ${formatMoney(product.maxAmount.amount, product.currency)}`;
  const months =
    product.minTermMonths === product.maxTermMonths
      ? `${product.minTermMonths} months`
      : `${product.minTermMonths} to ${product.maxTermMonths} months`;
  return `${amounts}, over ${months}`;
}

/** The accounts a loan in `currency` can be paid into (or repaid from): active, same currency. */
export function eligibleAccounts<A extends AccountLike>(accounts: readonly A[], currency: string): A[] {
  return accounts.filter((account) => account.status === 'ACTIVE' && account.currency === currency);
}

export interface QuoteForm {
  amount: string;
  termMonths: string;
}

export interface QuoteInput {
  productCode: string;
  amount: string;
  termMonths: number;
}

export interface CheckedQuote {
  errors: FieldErrors;
  /** What to ask `loanQuote` (or send with the application) when the form is valid. */
  input?: QuoteInput;
}

/** The amount and term against the chosen product. */
export function validateQuoteForm(form: QuoteForm, product: ProductLike | undefined): CheckedQuote {
  if (!product) return { errors: { product: 'Choose a loan.' } };
  const errors: FieldErrors = {};
  const parsed = parseAmount(form.amount, product.currency);
  if (!parsed.ok) errors.amount = parsed.error;
  else if (
    compareAmounts(parsed.amount, product.minAmount.amount, product.currency) < 0 ||
    compareAmounts(parsed.amount, product.maxAmount.amount, product.currency) > 0
  ) {
    errors.amount = `Choose an amount from ${formatMoney(product.minAmount.amount, product.currency)} to ${formatMoney(product.maxAmount.amount, product.currency)}.`;
  }
  const term = form.termMonths.trim();
  let termMonths: number | undefined;
  if (!term) errors.termMonths = 'Enter the term in months.';
  else if (!/^\d{1,4}$/.test(term)) errors.termMonths = 'Enter the term as a whole number of months.';
  else {
    termMonths = Number(term);
    if (termMonths < product.minTermMonths || termMonths > product.maxTermMonths) {
      errors.termMonths = `Choose a term from ${product.minTermMonths} to ${product.maxTermMonths} months.`;
    }
  }
  if (Object.keys(errors).length || !parsed.ok || termMonths === undefined) return { errors };
  return { errors, input: { productCode: product.code, amount: parsed.amount, termMonths } };
}

export interface ApplicationForm extends QuoteForm {
  accountId: string;
  purpose: string;
}

export interface CheckedApplication {
  errors: FieldErrors;
  input?: QuoteInput & { accountId: string; purpose: string | null };
}

export const MAX_PURPOSE_LENGTH = 200;

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Everything the application sends: the quote's fields, the account and the purpose. */
export function validateApplication(
  form: ApplicationForm,
  product: ProductLike | undefined,
  accounts: readonly AccountLike[],
): CheckedApplication {
  const quote = validateQuoteForm(form, product);
  const errors: FieldErrors = { ...quote.errors };
  if (product) {
    const eligible = eligibleAccounts(accounts, product.currency);
    if (eligible.length === 0) {
      errors.accountId = `You need an active account in ${product.currency} to receive this loan. Open one first.`;
    } else if (!form.accountId) {
      errors.accountId = 'Choose the account the loan is paid into.';
    } else if (!eligible.some((account) => account.id === form.accountId)) {
      errors.accountId = `Choose an active account in ${product.currency}.`;
    }
  }
  const purpose = form.purpose.trim();
  if ([...purpose].length > MAX_PURPOSE_LENGTH) errors.purpose = `Keep the purpose to ${MAX_PURPOSE_LENGTH} characters.`;
  else if (CONTROL.test(purpose)) errors.purpose = 'The purpose cannot contain line breaks or control characters.';
  if (Object.values(errors).some(Boolean) || !quote.input) return { errors };
  return { errors, input: { ...quote.input, accountId: form.accountId, purpose: purpose || null } };
}

export interface RepaymentForm {
  amount: string;
  accountId: string;
}

export interface CheckedRepayment {
  errors: FieldErrors;
  amount?: string;
}

/** A repayment: a positive amount in the loan's currency, never more than is still owed. */
export function validateRepayment(
  form: RepaymentForm,
  loan: { outstanding: MoneyLike },
  accounts: readonly AccountLike[],
): CheckedRepayment {
  const { currency } = loan.outstanding;
  const errors: FieldErrors = {};
  const parsed = parseAmount(form.amount, currency);
  if (!parsed.ok) errors.amount = parsed.error;
  else if (compareAmounts(parsed.amount, loan.outstanding.amount, currency) > 0) {
    errors.amount = `You owe ${formatMoney(loan.outstanding.amount, currency)}; enter that or less.`;
  }
  const eligible = eligibleAccounts(accounts, currency);
  if (!form.accountId || !eligible.some((account) => account.id === form.accountId)) {
    errors.accountId =
      eligible.length === 0
        ? `You need an active account in ${currency} to repay from.`
        : `Choose an active account in ${currency} to repay from.`;
  }
  return { errors, amount: parsed.ok && !Object.values(errors).some(Boolean) ? parsed.amount : undefined };
}

/** The account to offer first: the one the loan was paid into when it can pay, else the first that can. */
export function defaultRepaymentAccount(loanAccountId: string, accounts: readonly AccountLike[], currency: string): string {
  const eligible = eligibleAccounts(accounts, currency);
  return eligible.find((account) => account.id === loanAccountId)?.id ?? eligible[0]?.id ?? '';
}

/** What is left to pay of one installment (its amount less what repayments settled of it). */
export function installmentLeft(installment: { amount: MoneyLike; paid: MoneyLike }): string {
  const { currency } = installment.amount;
  const left = toMinorUnits(installment.amount.amount, currency) - toMinorUnits(installment.paid.amount, currency);
  return fromMinorUnits(left > 0n ? left : 0n, currency);
}
