import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import type { LoanProductFieldsFragment, LoanSummaryFragment } from '../gql/graphql';
import { SubmissionKeys } from '../lib/idempotency';
import { loadStatus, missing } from '../lib/loadState';
import { exponentOf, formatMoney } from '../lib/money';
import { hasErrors, type FieldErrors } from '../lib/validation';
import { onNotificationEvent } from '../notifications/events';
import { useToasts } from '../notifications/Toasts';
import { Link, navigate, usePageTitle } from '../router';
import { Field, FormError, Notice, SelectField, StatusBadge, SubmitButton, accountName, formatAccountNumber } from '../ui/components';
import { QueryState } from '../ui/QueryState';
import { ApplyForLoanMutation, LoanOffersQuery, LoanQuoteQuery, MyLoansQuery } from './documents';
import { LOAN_STATUS_LABELS, describeLoanError } from './messages';
import { eligibleAccounts, productLabel, rangeText, rateText, validateApplication, validateQuoteForm } from './rules';
import { useDebounced } from './useDebounced';

const PAGE_SIZE = 10;

/** The customer's loans, and applying for a new one with a live quote. */
export function LoansPage() {
  usePageTitle('Loans');
  return (
    <section>
      <h1 tabIndex={-1}>Loans</h1>
      <section className="card" aria-labelledby="your-loans">
        <h2 id="your-loans">Your loans</h2>
        <MyLoans />
      </section>
      <ApplyForLoan />
    </section>
  );
}

/** A loan as one line: what it is, where it stands, what is still owed. */
export const loanTitle = (loan: Pick<LoanSummaryFragment, 'product' | 'principal'>) =>
  `${loan.product.name}, ${formatMoney(loan.principal.amount, loan.principal.currency)}`;

function MyLoans() {
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  // Bumped when a loan notification arrives (approved, paid out, repaid): the list starts again.
  const [version, setVersion] = useState(0);
  useEffect(
    () =>
      onNotificationEvent((event) => {
        if (event.type !== 'added' || event.notification.kind !== 'LOAN') return;
        setCursors([null]);
        setVersion((v) => v + 1);
      }),
    [],
  );
  return (
    <ul className="loans" aria-label="Your loans, newest first">
      {cursors.map((after, index) => (
        <LoanPage
          key={`${version}-${after ?? 'first'}`}
          after={after}
          last={index === cursors.length - 1}
          onMore={(cursor) => setCursors((list) => [...list, cursor])}
        />
      ))}
    </ul>
  );
}

function LoanPage({ after, last, onMore }: { after: string | null; last: boolean; onMore: (cursor: string) => void }) {
  const [{ data, fetching, error }, refetch] = useQuery({
    query: MyLoansQuery,
    variables: { first: PAGE_SIZE, after },
    requestPolicy: 'cache-and-network',
  });
  const connection = data?.me?.loans;
  const failure = error ? describeLoanError(error, 'load') : missing('We could not load your loans.');
  const status = loadStatus({ fetching, loaded: Boolean(connection), empty: after === null && connection?.edges.length === 0, failure });
  return (
    <>
      {connection?.edges.map(({ node: loan }) => (
        <li key={loan.id} className="loan-line" data-testid="loan">
          <div>
            <Link href={`/loans/${loan.id}`}>{loanTitle(loan)}</Link>
            <div className="muted small">
              {rateText(loan.annualRate)} · {loan.termMonths} months ·{' '}
              <time dateTime={loan.appliedAt}>applied {new Date(loan.appliedAt).toLocaleDateString()}</time>
            </div>
          </div>
          <div className="amounts">
            <StatusBadge status={loan.status} labels={LOAN_STATUS_LABELS} />
            {(loan.status === 'ACTIVE' || loan.status === 'PAID_OFF') && (
              <span className="small" data-testid="loan-outstanding">
                Outstanding {formatMoney(loan.outstanding.amount, loan.outstanding.currency)}
              </span>
            )}
          </div>
        </li>
      ))}
      <QueryState
        item
        status={status}
        failure={failure}
        onRetry={() => refetch({ requestPolicy: 'network-only' })}
        loading="Loading your loans…"
        empty="You have no loans yet. Choose one below to see what it would cost."
      />
      {last && connection?.pageInfo.hasNextPage && connection.pageInfo.endCursor && (
        <li className="more">
          <button type="button" onClick={() => onMore(connection.pageInfo.endCursor!)}>
            Load more
          </button>
        </li>
      )}
    </>
  );
}

function ApplyForLoan() {
  const [{ data, fetching, error }, refetch] = useQuery({ query: LoanOffersQuery });
  const products = data?.loanProducts ?? [];
  const accounts = data?.me?.accounts ?? [];
  const failure = error ? describeLoanError(error, 'load') : missing('We could not load our loans.');
  const status = loadStatus({ fetching, loaded: Boolean(data?.loanProducts), empty: products.length === 0, failure });
  return (
    <section className="card" aria-labelledby="apply">
      <h2 id="apply">Apply for a loan</h2>
      <QueryState
        status={status}
        failure={failure}
        onRetry={() => refetch({ requestPolicy: 'network-only' })}
        loading="Loading our loans…"
        empty="We are not offering loans at the moment."
      />
      {products.length > 0 && <ApplicationForm products={products} accounts={accounts} />}
    </section>
  );
}

interface OwnAccount {
  id: string;
  number: string;
  kind: string;
  currency: string;
  status: string;
  nickname?: string | null;
}

function ApplicationForm({ products, accounts }: { products: LoanProductFieldsFragment[]; accounts: OwnAccount[] }) {
  const [productCode, setProductCode] = useState('');
  const [amount, setAmount] = useState('');
  const [termMonths, setTermMonths] = useState('');
  const [accountId, setAccountId] = useState('');
  const [purpose, setPurpose] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submitting = useRef(false);
  const keys = useRef(new SubmissionKeys());
  const toasts = useToasts();
  const [, apply] = useMutation(ApplyForLoanMutation);

  const product = products.find((p) => p.code === productCode);
  const eligible = useMemo(() => (product ? eligibleAccounts(accounts, product.currency) : []), [accounts, product]);
  // The account picker offers only accounts in the product's currency; keep a valid choice.
  useEffect(() => {
    if (!eligible.some((account) => account.id === accountId)) setAccountId(eligible[0]?.id ?? '');
  }, [eligible, accountId]);

  const choose = (code: string) => {
    setProductCode(code);
    setErrors({});
    setError(undefined);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (submitting.current) return;
    const checked = validateApplication({ amount, termMonths, accountId, purpose }, product, accounts);
    setErrors(checked.errors);
    setError(undefined);
    if (hasErrors(checked.errors) || !checked.input || !product) return;

    const input = checked.input;
    const idempotencyKey = keys.current.keyFor(input);
    submitting.current = true;
    setBusy(true);
    const result = await apply({ input: { ...input, idempotencyKey } });
    submitting.current = false;
    setBusy(false);

    const loan = result.data?.applyForLoan;
    if (loan) {
      keys.current.settle();
      toasts.show(
        `Applied for ${formatMoney(loan.principal.amount, loan.principal.currency)}. We will let you know when it is decided.`,
        'success',
      );
      navigate(`/loans/${loan.id}`);
      return;
    }
    const described = describeLoanError(result.error, 'apply', product.currency);
    if (described.retryable) keys.current.keepForRetry();
    else keys.current.settle();
    const field = described.field;
    if (described.code === 'BAD_USER_INPUT' && field && ['amount', 'termMonths', 'purpose', 'accountId'].includes(field)) {
      setErrors({ [field]: described.message });
    } else if (described.code === 'CURRENCY_MISMATCH' || described.code === 'ACCOUNT_NOT_ACTIVE' || described.code === 'NOT_FOUND') {
      setErrors({ accountId: described.message });
    } else setError(described.message);
  };

  return (
    <form onSubmit={submit} noValidate aria-labelledby="apply">
      <fieldset aria-describedby={errors.product ? 'product-error' : undefined}>
        <legend>Which loan?</legend>
        <div className="products">
          {products.map((p) => (
            <label key={p.code} className="choice product">
              <input type="radio" name="product" value={p.code} checked={productCode === p.code} onChange={() => choose(p.code)} />
              <span>
                <strong>{productLabel(p)}</strong>
                <span className="muted small">
                  {' '}
                  {rateText(p.annualRate)} · {rangeText(p)}
                </span>
              </span>
            </label>
          ))}
        </div>
        {errors.product && (
          <p className="field-error" id="product-error">
            {errors.product}
          </p>
        )}
      </fieldset>
      {product && (
        <>
          <div className="two-fields">
            <Field
              label={`Amount (${product.currency})`}
              hint={`From ${formatMoney(product.minAmount.amount, product.currency)} to ${formatMoney(product.maxAmount.amount, product.currency)}.`}
              inputMode={exponentOf(product.currency) === 0 ? 'numeric' : 'decimal'}
              autoComplete="off"
              value={amount}
              onChange={(e) => setAmount(e.target.value)}
              error={errors.amount}
            />
            <Field
              label="Term in months"
              hint={`${product.minTermMonths} to ${product.maxTermMonths} months.`}
              inputMode="numeric"
              autoComplete="off"
              value={termMonths}
              onChange={(e) => setTermMonths(e.target.value)}
              error={errors.termMonths}
            />
          </div>
          <LiveQuote product={product} amount={amount} termMonths={termMonths} />
          {eligible.length > 0 ? (
            <SelectField label="Pay the loan into" value={accountId} onChange={(e) => setAccountId(e.target.value)} error={errors.accountId}>
              {eligible.map((account) => (
                <option key={account.id} value={account.id}>
                  {accountName(account)} · {formatAccountNumber(account.number)}
                </option>
              ))}
            </SelectField>
          ) : (
            <Notice tone="warning">
              This loan is paid into an account in {product.currency}, and you have no active one.{' '}
              <Link href="/accounts/new">Open an account in {product.currency}</Link> first.
            </Notice>
          )}
          <Field
            label="Purpose (optional)"
            hint="What the money is for, in a few words."
            value={purpose}
            maxLength={200}
            onChange={(e) => setPurpose(e.target.value)}
            error={errors.purpose}
          />
        </>
      )}
      <FormError message={error} />
      <SubmitButton busy={busy} busyText="Applying…">
        Apply for this loan
      </SubmitButton>
    </form>
  );
}

/** What the loan would cost, asked for when typing pauses and the amount and term are valid. */
function LiveQuote({ product, amount, termMonths }: { product: LoanProductFieldsFragment; amount: string; termMonths: string }) {
  const checked = validateQuoteForm({ amount, termMonths }, product);
  const input = useDebounced(checked.input);
  const current = Boolean(checked.input) && JSON.stringify(input) === JSON.stringify(checked.input);
  const [{ data, fetching, error }] = useQuery({
    query: LoanQuoteQuery,
    variables: { input: input ?? { productCode: product.code, amount: '0', termMonths: 0 } },
    pause: !input || !current,
  });
  const quote = current ? data?.loanQuote : undefined;
  const typed = amount.trim() !== '' || termMonths.trim() !== '';
  const problem = checked.errors.amount ?? checked.errors.termMonths;

  let body;
  if (!checked.input) {
    body = <p className="muted">{typed && problem ? problem : 'Enter an amount and a term to see what the loan costs each month.'}</p>;
  } else if (quote) {
    body = (
      <>
        <dl className="facts">
          <div>
            <dt>Monthly payment</dt>
            <dd className="balance" data-testid="quote-monthly">
              {formatMoney(quote.monthlyPayment.amount, quote.monthlyPayment.currency)}
            </dd>
          </div>
          <div>
            <dt>Total interest</dt>
            <dd data-testid="quote-interest">{formatMoney(quote.totalInterest.amount, quote.totalInterest.currency)}</dd>
          </div>
          <div>
            <dt>Total to repay</dt>
            <dd data-testid="quote-total">{formatMoney(quote.totalDue.amount, quote.totalDue.currency)}</dd>
          </div>
        </dl>
        <p className="muted small">
          {rateText(quote.annualRate)}, fixed, over {quote.termMonths} {quote.termMonths === 1 ? 'month' : 'months'}.
        </p>
      </>
    );
  } else if (current && error && !fetching) {
    body = <p className="field-error">{describeLoanError(error, 'quote', product.currency).message}</p>;
  } else {
    body = <p className="muted">Working out the cost…</p>;
  }

  return (
    <section className="quote" aria-labelledby="quote-heading" aria-live="polite" aria-busy={!quote && Boolean(checked.input)} data-testid="quote">
      <h3 id="quote-heading">What it costs</h3>
      {body}
    </section>
  );
}
