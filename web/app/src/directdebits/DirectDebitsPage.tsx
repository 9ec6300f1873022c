import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import type { DirectDebitFieldsFragment, DirectDebitsSetupQuery as SetupResult, MandateFieldsFragment } from '../gql/graphql';
import { useCatchUp } from '../graphql/useCatchUp';
import { formatMoment } from '../lib/dates';
import { balancesChanged, onBalancesChanged } from '../lib/events';
import { loadStatus, missing } from '../lib/loadState';
import { exponentOf, formatMoney } from '../lib/money';
import { hasErrors, type FieldErrors } from '../lib/validation';
import { rememberOwnTransaction } from '../notifications/alerts';
import { useToasts } from '../notifications/Toasts';
import { Link, usePageTitle } from '../router';
import { Field, FormError, Notice, SelectField, StatusBadge, SubmitButton, accountName, formatAccountNumber } from '../ui/components';
import { QueryState } from '../ui/QueryState';
import { CreateMandateMutation, DirectDebitsSetupQuery, MyDirectDebitsQuery, RefundDirectDebitMutation, RevokeMandateMutation } from './documents';
import {
  DIRECT_DEBIT_STATUS_LABELS,
  canRefund,
  describeDirectDebitError,
  directDebitNote,
  isInFlight,
  mandateErrorField,
  mandateStatusText,
} from './messages';
import { CREDITOR_ID_EXAMPLE, MAX_REFERENCE_LENGTH, formatCreditorId, mandateAccounts, validateMandate } from './rules';

const PAGE_SIZE = 10;

type Account = NonNullable<SetupResult['me']>['accounts'][number];
type Refetch = (opts?: { requestPolicy: 'network-only' }) => void;

/** Direct debits: the mandates the person gave creditors, and what the creditors collected. */
export function DirectDebitsPage() {
  usePageTitle('Direct debits');
  const [{ data, fetching, error }, refetch] = useQuery({ query: DirectDebitsSetupQuery });
  const refresh = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);
  const catchingUp = useCatchUp(Boolean(data && !data.me && !error), fetching, refetch);
  // Creditors collect from outside the app: a collection's live alert (balances changed) or
  // coming back to the tab asks again for the balances, the mandates and the direct debits.
  const [signal, setSignal] = useState(0);
  useEffect(() => {
    const again = () => {
      refresh();
      setSignal((s) => s + 1);
    };
    const stopBalances = onBalancesChanged(again);
    window.addEventListener('focus', again);
    return () => {
      stopBalances();
      window.removeEventListener('focus', again);
    };
  }, [refresh]);
  const me = data?.me;
  const names = useMemo(() => new Map((me?.accounts ?? []).map((a) => [a.id, accountName(a)])), [me?.accounts]);
  const failure = error ? describeDirectDebitError(error, 'load') : missing('We could not load your direct debits.');
  const status = loadStatus({ fetching: fetching || catchingUp, loaded: Boolean(me), failure });

  return (
    <section>
      <h1 tabIndex={-1}>Direct debits</h1>
      <p className="muted">
        Creditors such as your energy supplier or insurer collect from your account under a mandate you give them. You can revoke a
        mandate at any time, and get a collection back within eight weeks.
      </p>
      <QueryState status={status} failure={failure} onRetry={refresh} loading="Loading…" />
      {me && <GiveMandate accounts={me.accounts} mandates={me.mandates} onGiven={refresh} />}
      {me && <Mandates mandates={me.mandates} names={names} onChanged={refresh} />}
      {me && (
        <section className="card" aria-labelledby="your-direct-debits">
          <h2 id="your-direct-debits">Your direct debits</h2>
          <DirectDebitsList signal={signal} names={names} />
        </section>
      )}
    </section>
  );
}

/** "Mandate for Stadtwerke recorded." */
const recordedText = (mandate: MandateFieldsFragment) => `Mandate for ${mandate.creditorName} recorded.`;

function GiveMandate({ accounts, mandates, onGiven }: { accounts: Account[]; mandates: MandateFieldsFragment[]; onGiven: () => void }) {
  const usable = useMemo(() => mandateAccounts(accounts), [accounts]);
  const [accountId, setAccountId] = useState('');
  const [creditorName, setCreditorName] = useState('');
  const [creditorId, setCreditorId] = useState('');
  const [reference, setReference] = useState('');
  const [maxAmount, setMaxAmount] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submitting = useRef(false);
  const toasts = useToasts();
  const [, create] = useMutation(CreateMandateMutation);

  const account = usable.find((a) => a.id === accountId);
  const currency = account?.currency;

  // Keep a valid choice as accounts come and go.
  useEffect(() => {
    if (!usable.some((a) => a.id === accountId)) setAccountId(usable[0]?.id ?? '');
  }, [usable, accountId]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (submitting.current) return;
    const checked = validateMandate({ accountId, creditorName, creditorId, reference, maxAmount }, accounts, mandates);
    setErrors(checked.errors);
    setError(undefined);
    if (hasErrors(checked.errors) || !checked.input) return;

    submitting.current = true;
    setBusy(true);
    // Safe to repeat: the same mandate again returns the one recorded.
    const result = await create({ input: checked.input });
    submitting.current = false;
    setBusy(false);

    const mandate = result.data?.createMandate;
    if (mandate) {
      toasts.show(recordedText(mandate), 'success');
      setCreditorName('');
      setCreditorId('');
      setReference('');
      setMaxAmount('');
      onGiven();
      return;
    }
    const described = describeDirectDebitError(result.error, 'createMandate');
    const field = mandateErrorField(described);
    if (field) setErrors({ [field]: described.message });
    else setError(described.message);
  };

  if (usable.length === 0) {
    return (
      <section className="card" aria-labelledby="give-mandate">
        <h2 id="give-mandate">Give a mandate</h2>
        <Notice tone="warning">
          You need an active account to give a mandate for. <Link href="/accounts/new">Open an account</Link> first.
        </Notice>
      </section>
    );
  }

  return (
    <form onSubmit={submit} noValidate className="card" aria-labelledby="give-mandate">
      <h2 id="give-mandate">Give a mandate</h2>
      <p className="muted">Copy the details from the mandate form or letter the creditor sent you.</p>
      <div>
        <SelectField label="Account" value={accountId} onChange={(e) => setAccountId(e.target.value)} error={errors.accountId}>
          {usable.map((a) => (
            <option key={a.id} value={a.id}>
              {accountName(a)} · {formatAccountNumber(a.number)}
            </option>
          ))}
        </SelectField>
        {account && (
          <p className="hint" data-testid="account-balance">
            Balance {formatMoney(account.balance.amount, account.balance.currency)}
            {account.availableBalance.amount !== account.balance.amount &&
              `, available ${formatMoney(account.availableBalance.amount, account.availableBalance.currency)}`}
          </p>
        )}
      </div>
      <div className="two-fields">
        <Field
          label="Creditor's name"
          hint="The business collecting, e.g. your energy supplier."
          autoComplete="off"
          value={creditorName}
          onChange={(e) => setCreditorName(e.target.value)}
          error={errors.creditorName}
        />
        <Field
          label="Creditor identifier"
          hint={`Spaces are fine, e.g. ${CREDITOR_ID_EXAMPLE}.`}
          autoComplete="off"
          autoCapitalize="characters"
          spellCheck={false}
          value={creditorId}
          onChange={(e) => setCreditorId(e.target.value)}
          error={errors.creditorId}
        />
      </div>
      <div className="two-fields">
        <Field
          label="Mandate reference"
          hint={`The creditor's reference for this mandate, up to ${MAX_REFERENCE_LENGTH} characters.`}
          autoComplete="off"
          spellCheck={false}
          value={reference}
          onChange={(e) => setReference(e.target.value)}
          error={errors.reference}
        />
        <Field
          label="Limit per collection (optional)"
          hint={
            currency
              ? `The most one collection may take, in ${currency}${exponentOf(currency) === 0 ? ' (whole amounts)' : ''}. Leave empty for no limit.`
              : 'Leave empty for no limit.'
          }
          inputMode={currency && exponentOf(currency) === 0 ? 'numeric' : 'decimal'}
          autoComplete="off"
          value={maxAmount}
          onChange={(e) => setMaxAmount(e.target.value)}
          error={errors.maxAmount}
        />
      </div>
      <FormError message={error} />
      <SubmitButton busy={busy} busyText="Saving…">
        Give mandate
      </SubmitButton>
    </form>
  );
}

function Mandates({ mandates, names, onChanged }: { mandates: MandateFieldsFragment[]; names: Map<string, string>; onChanged: () => void }) {
  return (
    <section className="card" aria-labelledby="your-mandates">
      <h2 id="your-mandates">Your mandates</h2>
      <ul className="payees" aria-label="Your mandates, active first">
        {mandates.map((mandate) => (
          <MandateLine key={mandate.id} mandate={mandate} names={names} onRevoked={onChanged} />
        ))}
        {mandates.length === 0 && <li className="muted">No mandates yet. Record one when a creditor asks you for a direct debit.</li>}
      </ul>
    </section>
  );
}

function MandateLine({ mandate, names, onRevoked }: { mandate: MandateFieldsFragment; names: Map<string, string>; onRevoked: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const toasts = useToasts();
  const [, revoke] = useMutation(RevokeMandateMutation);
  const account = names.get(mandate.account.id) ?? formatAccountNumber(mandate.account.number);
  const active = mandate.status === 'ACTIVE';

  const revokeIt = async () => {
    setBusy(true);
    setError(undefined);
    const result = await revoke({ id: mandate.id });
    setBusy(false);
    if (result.data) {
      setConfirming(false);
      toasts.show(`Mandate for ${mandate.creditorName} revoked.`, 'info');
      onRevoked();
      return;
    }
    const described = describeDirectDebitError(result.error, 'revokeMandate');
    if (described.code === 'NOT_FOUND') onRevoked();
    setError(described.message);
  };

  return (
    <li className="payee-line" data-testid="mandate">
      <div>
        <strong>{mandate.creditorName}</strong>
        <div className="number small">{formatCreditorId(mandate.creditorId)}</div>
        <div className="muted">Mandate reference: {mandate.reference}</div>
        <div className="small">
          From {account} ·{' '}
          {mandate.maxAmount ? `Limit ${formatMoney(mandate.maxAmount.amount, mandate.maxAmount.currency)} per collection` : 'No limit'}
        </div>
        {error && <p className="field-error">{error}</p>}
      </div>
      <div className="row">
        <span data-testid="mandate-status">
          <StatusBadge status={mandate.status} labels={{ [mandate.status]: mandateStatusText(mandate) }} />
        </span>
        {active &&
          (confirming ? (
            <>
              <span className="small">
                Revoke the mandate for {mandate.creditorName}? They can no longer collect from {account}.
              </span>
              <button type="button" className="danger" disabled={busy} onClick={() => void revokeIt()}>
                {busy ? 'Revoking…' : 'Yes, revoke'}
              </button>
              <button type="button" disabled={busy} onClick={() => setConfirming(false)}>
                Keep
              </button>
            </>
          ) : (
            <button type="button" aria-label={`Revoke the mandate for ${mandate.creditorName} (${mandate.reference})`} onClick={() => setConfirming(true)}>
              Revoke…
            </button>
          ))}
      </div>
    </li>
  );
}

/** The direct debits, newest first, paged with Load more. */
function DirectDebitsList({ signal, names }: { signal: number; names: Map<string, string> }) {
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  return (
    <ul className="payments" aria-label="Your direct debits, newest first">
      {cursors.map((after, index) => (
        <DirectDebitPage
          key={after ?? 'first'}
          after={after}
          last={index === cursors.length - 1}
          signal={signal}
          names={names}
          onMore={(cursor) => setCursors((list) => [...list, cursor])}
        />
      ))}
    </ul>
  );
}

function DirectDebitPage({
  after,
  last,
  signal,
  names,
  onMore,
}: {
  after: string | null;
  last: boolean;
  signal: number;
  names: Map<string, string>;
  onMore: (cursor: string) => void;
}) {
  const [{ data, fetching, error }, refetch] = useQuery({
    query: MyDirectDebitsQuery,
    variables: { first: PAGE_SIZE, after },
    requestPolicy: 'network-only',
  });
  const connection = data?.me?.directDebits;
  const debits = useMemo(() => connection?.edges.map((edge) => edge.node) ?? [], [connection]);
  const again = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);
  useFollowInFlight(debits, fetching, refetch);
  const failure = error ? describeDirectDebitError(error, 'load') : missing('We could not load your direct debits.');
  const status = loadStatus({ fetching, loaded: Boolean(connection), empty: after === null && debits.length === 0, failure });
  const firstSignal = useRef(signal);
  useEffect(() => {
    if (signal !== firstSignal.current) again();
  }, [signal, again]);

  return (
    <>
      {debits.map((debit) => (
        <DirectDebitLine key={debit.id} debit={debit} names={names} onChanged={again} />
      ))}
      <QueryState
        item
        status={status}
        failure={failure}
        onRetry={again}
        loading="Loading your direct debits…"
        empty="No direct debits yet. What creditors collect under your mandates shows here."
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

/**
 * While a collection or a refund on this page is under way (the ledger or the worker is at
 * work), asks again: after a second, then less often, at most every 15 s.
 */
function useFollowInFlight(debits: DirectDebitFieldsFragment[], fetching: boolean, refetch: Refetch) {
  const key = debits
    .filter((debit) => isInFlight(debit.status))
    .map((debit) => `${debit.id}:${debit.status}`)
    .join(',');
  const attempt = useRef(0);
  const lastKey = useRef('');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (key !== lastKey.current) {
      lastKey.current = key;
      attempt.current = 0;
    }
    if (!key || fetching) return;
    const timer = window.setTimeout(
      () => {
        attempt.current += 1;
        setTick((t) => t + 1);
        refetch({ requestPolicy: 'network-only' });
      },
      Math.min(15_000, 1000 * 2 ** attempt.current),
    );
    return () => window.clearTimeout(timer);
  }, [key, fetching, tick, refetch]);
}

function DirectDebitLine({ debit, names, onChanged }: { debit: DirectDebitFieldsFragment; names: Map<string, string>; onChanged: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const toasts = useToasts();
  const [, refund] = useMutation(RefundDirectDebitMutation);
  const creditor = debit.mandate.creditorName;
  const money = formatMoney(debit.amount.amount, debit.amount.currency);
  // Nothing left the account, or it came back.
  const noMoneyGone = debit.status === 'REFUSED' || debit.status === 'REFUNDED';
  const from = names.get(debit.account.id) ?? formatAccountNumber(debit.account.number);
  const now = Date.now();
  const refundable = canRefund(debit, now);

  const refundIt = async () => {
    setBusy(true);
    setError(undefined);
    const result = await refund({ id: debit.id });
    setBusy(false);
    const refunded = result.data?.refundDirectDebit;
    if (refunded) {
      if (refunded.refund) rememberOwnTransaction(refunded.refund.id); // its alert needs no second toast
      setConfirming(false);
      toasts.show(
        refunded.status === 'REFUNDED' ? `Refunded ${money} from ${creditor}.` : `Getting ${money} back from ${creditor}: it will be in your account shortly.`,
        'success',
      );
      balancesChanged({ accountIds: [refunded.account.id] });
      return;
    }
    const described = describeDirectDebitError(result.error, 'refund');
    setError(described.message);
    if (described.code === 'BAD_USER_INPUT' || described.code === 'NOT_FOUND') {
      setConfirming(false);
      onChanged(); // refunded or refused elsewhere: show where it stands
    }
  };

  return (
    <li className="payment-line" data-testid="direct-debit">
      <div>
        <strong>{creditor}</strong> <span className="muted small">Mandate {debit.mandate.reference}</span>
        {debit.remittance && <div className="muted">Reference: {debit.remittance}</div>}
        <div className="small" data-testid="direct-debit-note">
          {directDebitNote(debit, now)}
        </div>
        <div className="muted small">
          From {from} · <time dateTime={debit.createdAt}>{formatMoment(debit.createdAt)}</time>
        </div>
        {error && <p className="field-error">{error}</p>}
        {refundable && (
          <div className="row">
            {confirming ? (
              <>
                <span className="small">
                  Get {money} back from {creditor}?
                </span>
                <button type="button" className="danger" disabled={busy} onClick={() => void refundIt()}>
                  {busy ? 'Refunding…' : 'Yes, refund'}
                </button>
                <button type="button" disabled={busy} onClick={() => setConfirming(false)}>
                  Cancel
                </button>
              </>
            ) : (
              <button type="button" aria-label={`Refund ${money} from ${creditor}`} onClick={() => setConfirming(true)}>
                Refund…
              </button>
            )}
          </div>
        )}
      </div>
      <div className="amounts">
        <span className={noMoneyGone ? 'muted' : 'debit'} data-testid="direct-debit-amount">
          {noMoneyGone ? money : `-${money}`}
        </span>
        <span data-testid="direct-debit-status">
          <StatusBadge status={debit.status} labels={DIRECT_DEBIT_STATUS_LABELS} />
        </span>
      </div>
    </li>
  );
}
