import { useCallback, useEffect, useId, useMemo, useRef, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import type {
  PayeeFieldsFragment,
  PaymentFieldsFragment,
  PaymentsSetupQuery as SetupResult,
  StandingOrderFieldsFragment,
} from '../gql/graphql';
import { useCatchUp } from '../graphql/useCatchUp';
import { addDays, formatDate, formatMoment, todayUtc } from '../lib/dates';
import { balancesChanged, onBalancesChanged } from '../lib/events';
import { SubmissionKeys } from '../lib/idempotency';
import { loadStatus, missing } from '../lib/loadState';
import { exponentOf, formatMoney } from '../lib/money';
import { hasErrors, type FieldErrors } from '../lib/validation';
import { rememberOwnTransaction } from '../notifications/alerts';
import { LIVE_NOTIFICATIONS } from '../notifications/config';
import { onNotificationEvent } from '../notifications/events';
import { useToasts } from '../notifications/Toasts';
import { Link, usePageTitle } from '../router';
import { Field, FormError, Notice, SelectField, StatusBadge, SubmitButton, accountName, formatAccountNumber } from '../ui/components';
import { QueryState } from '../ui/QueryState';
import {
  AddPayeeMutation,
  CancelStandingOrderMutation,
  CreateStandingOrderMutation,
  MyPaymentsQuery,
  PaymentsSetupQuery,
  RemovePayeeMutation,
  SendPaymentMutation,
} from './documents';
import { IBAN_EXAMPLE, formatIban } from './iban';
import { dueKey, flightKey, isDue, ordersThatPaid, pollDelayMs, runsMap, statusChanges, statusMap } from './live';
import {
  PAYMENT_STATUS_LABELS,
  cancelQuestion,
  cancelledText,
  describePaymentError,
  paymentStatusNote,
  periodText,
  runsText,
  scheduleText,
  sendErrorField,
  setUpText,
  standingOrderStatusText,
} from './messages';
import {
  MAX_REMITTANCE_LENGTH,
  MAX_START_AHEAD_DAYS,
  payeeWithIban,
  payingAccounts,
  validatePayee,
  validatePayment,
  validateStandingOrder,
  type Frequency,
  type Recipient,
} from './rules';

const PAGE_SIZE = 10;

type Account = NonNullable<SetupResult['me']>['accounts'][number];
type Refetch = (opts?: { requestPolicy: 'network-only' }) => void;

/** Now (one payment), or Repeat (a standing order). */
type When = 'now' | 'repeat';

/** Payments to other banks: sending one, following them, standing orders, and the payees to send to. */
export function PaymentsPage() {
  usePageTitle('Payments');
  const [{ data, fetching, error }, refetch] = useQuery({ query: PaymentsSetupQuery });
  const refresh = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);
  // Balances move (this tab's payments, live alerts such as a payment's money coming back).
  useEffect(() => onBalancesChanged(() => refresh()), [refresh]);
  const catchingUp = useCatchUp(Boolean(data && !data.me && !error), fetching, refetch);
  // Bumped by a new payment: the list starts again from its first page, the new one on top.
  const [listVersion, setListVersion] = useState(0);
  const [payTo, setPayTo] = useState<{ payeeId: string; n: number }>();
  const me = data?.me;
  const names = useMemo(() => new Map((me?.accounts ?? []).map((a) => [a.id, accountName(a)])), [me?.accounts]);
  // A standing order paid a date: its payment heads the list, and the balance moved.
  const onOrdersPaid = useCallback(() => {
    setListVersion((v) => v + 1);
    refresh();
  }, [refresh]);
  useFollowStandingOrders(me?.standingOrders, fetching, refetch, onOrdersPaid);
  const failure = error ? describePaymentError(error, 'load') : missing('We could not load your payments.');
  const status = loadStatus({ fetching: fetching || catchingUp, loaded: Boolean(me), failure });

  return (
    <section>
      <h1 tabIndex={-1}>Payments</h1>
      <p className="muted">
        Send money to accounts at other banks by IBAN, once or every week or month. Money between accounts at this bank moves from an
        account’s page.
      </p>
      <QueryState status={status} failure={failure} onRetry={refresh} loading="Loading…" />
      {me && (
        <SendPayment
          accounts={me.accounts}
          payees={me.payees}
          preselect={payTo}
          onSent={() => {
            setListVersion((v) => v + 1);
            refresh();
          }}
          onSetUp={(order) => {
            // One due today is paid within a second or so: its payment joins the list.
            if (isDue(order, todayUtc())) setListVersion((v) => v + 1);
            refresh();
          }}
          onRefused={refresh}
        />
      )}
      {me && (
        <section className="card" aria-labelledby="your-payments">
          <h2 id="your-payments">Your payments</h2>
          <PaymentsList version={listVersion} names={names} />
        </section>
      )}
      {me && <StandingOrders orders={me.standingOrders} names={names} onChanged={refresh} />}
      {me && (
        <Payees payees={me.payees} onChanged={refresh} onPay={(payeeId) => setPayTo((last) => ({ payeeId, n: (last?.n ?? 0) + 1 }))} />
      )}
    </section>
  );
}

/** "Sent 10.00 EUR to Acme GmbH." */
const sentText = (payment: PaymentFieldsFragment) =>
  `Sent ${formatMoney(payment.amount.amount, payment.amount.currency)} to ${payment.creditorName}.`;

function SendPayment({
  accounts,
  payees,
  preselect,
  onSent,
  onSetUp,
  onRefused,
}: {
  accounts: Account[];
  payees: PayeeFieldsFragment[];
  preselect?: { payeeId: string; n: number };
  onSent: () => void;
  onSetUp: (order: StandingOrderFieldsFragment) => void;
  /** A standing order refused for good: the payees or orders shown may be out of date. */
  onRefused: () => void;
}) {
  const paying = useMemo(() => payingAccounts(accounts), [accounts]);
  const [fromAccountId, setFromAccountId] = useState('');
  const [chosenRecipient, setChosenRecipient] = useState<Recipient>();
  const [payeeId, setPayeeId] = useState('');
  const [creditorName, setCreditorName] = useState('');
  const [creditorIban, setCreditorIban] = useState('');
  const [amount, setAmount] = useState('');
  const [remittance, setRemittance] = useState('');
  const [when, setWhen] = useState<When>('now');
  const [frequency, setFrequency] = useState<Frequency>('MONTHLY');
  const [startOn, setStartOn] = useState(() => todayUtc());
  const [endOn, setEndOn] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submitting = useRef(false);
  const keys = useRef(new SubmissionKeys());
  const orderKeys = useRef(new SubmissionKeys());
  const amountId = useId();
  const toasts = useToasts();
  const [, send] = useMutation(SendPaymentMutation);
  const [, createOrder] = useMutation(CreateStandingOrderMutation);
  // The services' today (UTC): a standing order's first payment is from today to a year ahead.
  const today = todayUtc();

  // To a saved payee when there are any, unless the person chose otherwise.
  const recipient: Recipient = payees.length === 0 ? 'new' : (chosenRecipient ?? 'payee');
  const account = paying.find((a) => a.id === fromAccountId);
  const currency = account?.currency;

  // Keep valid choices as accounts and payees come and go.
  useEffect(() => {
    if (!paying.some((a) => a.id === fromAccountId)) setFromAccountId(paying[0]?.id ?? '');
  }, [paying, fromAccountId]);
  useEffect(() => {
    if (!payees.some((p) => p.id === payeeId)) setPayeeId(payees[0]?.id ?? '');
  }, [payees, payeeId]);
  // "Pay" next to a payee: this form, that payee, the amount field ready.
  useEffect(() => {
    if (!preselect) return;
    setChosenRecipient('payee');
    setPayeeId(preselect.payeeId);
    setErrors({});
    setError(undefined);
    document.getElementById(amountId)?.querySelector('input')?.focus();
  }, [preselect, amountId]);

  const setUpStandingOrder = async () => {
    const checked = validateStandingOrder(
      { fromAccountId, recipient, payeeId, creditorName, creditorIban, amount, remittance, frequency, startOn, endOn },
      accounts,
      payees,
      todayUtc(),
    );
    setErrors(checked.errors);
    setError(undefined);
    if (hasErrors(checked.errors) || !checked.input) return;

    const input = checked.input;
    const idempotencyKey = orderKeys.current.keyFor(input);
    submitting.current = true;
    setBusy(true);
    const result = await createOrder({ input: { ...input, idempotencyKey } });
    submitting.current = false;
    setBusy(false);

    const order = result.data?.createStandingOrder;
    if (order) {
      orderKeys.current.settle();
      setAmount('');
      setRemittance('');
      setStartOn(todayUtc());
      setEndOn('');
      toasts.show(setUpText(order), 'success');
      onSetUp(order);
      return;
    }
    const described = describePaymentError(result.error, 'setUpStandingOrder', checked.currency);
    if (described.retryable) orderKeys.current.keepForRetry();
    else {
      orderKeys.current.settle();
      onRefused(); // a payee removed elsewhere goes; orders set up in another tab count
    }
    const field = sendErrorField(described, recipient, true);
    if (field) setErrors({ [field]: described.message });
    else setError(described.message);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (submitting.current) return;
    if (when === 'repeat') {
      await setUpStandingOrder();
      return;
    }
    const checked = validatePayment(
      { fromAccountId, recipient, payeeId, creditorName, creditorIban, amount, remittance },
      accounts,
      payees,
    );
    setErrors(checked.errors);
    setError(undefined);
    if (hasErrors(checked.errors) || !checked.input) return;

    const input = checked.input;
    const idempotencyKey = keys.current.keyFor(input);
    submitting.current = true;
    setBusy(true);
    const result = await send({ input: { ...input, idempotencyKey } });
    submitting.current = false;
    setBusy(false);

    const payment = result.data?.sendPayment;
    if (payment) {
      if (payment.debit) rememberOwnTransaction(payment.debit.id); // its alert needs no second toast
      keys.current.settle();
      setAmount('');
      setRemittance('');
      toasts.show(sentText(payment), 'success');
      balancesChanged({ accountIds: [payment.fromAccount.id] });
      onSent();
      return;
    }
    const described = describePaymentError(result.error, 'send', checked.currency);
    if (described.retryable) keys.current.keepForRetry();
    else {
      keys.current.settle();
      onSent(); // a payment the ledger refused is listed as not sent; a payee removed elsewhere goes
    }
    const field = sendErrorField(described, recipient);
    if (field) setErrors({ [field]: described.message });
    else setError(described.message);
  };

  if (paying.length === 0) {
    return (
      <section className="card" aria-labelledby="send">
        <h2 id="send">Send money to another bank</h2>
        <Notice tone="warning">
          You need an active account to send money from. <Link href="/accounts/new">Open an account</Link> first.
        </Notice>
      </section>
    );
  }

  return (
    <form onSubmit={submit} noValidate className="card" aria-labelledby="send">
      <h2 id="send">Send money to another bank</h2>
      <div>
        <SelectField label="From" value={fromAccountId} onChange={(e) => setFromAccountId(e.target.value)} error={errors.fromAccountId}>
          {paying.map((a) => (
            <option key={a.id} value={a.id}>
              {accountName(a)} · {formatAccountNumber(a.number)}
            </option>
          ))}
        </SelectField>
        {account && (
          <p className="hint" data-testid="from-balance">
            Balance {formatMoney(account.balance.amount, account.balance.currency)}
            {account.availableBalance.amount !== account.balance.amount &&
              `, available ${formatMoney(account.availableBalance.amount, account.availableBalance.currency)}`}
          </p>
        )}
      </div>
      <fieldset>
        <legend>To</legend>
        <label className="choice">
          <input
            type="radio"
            name="recipient"
            checked={recipient === 'payee'}
            disabled={payees.length === 0}
            onChange={() => setChosenRecipient('payee')}
          />
          A saved payee
        </label>
        <label className="choice">
          <input type="radio" name="recipient" checked={recipient === 'new'} onChange={() => setChosenRecipient('new')} />
          Someone new
        </label>
        {recipient === 'payee' ? (
          <SelectField label="Payee" value={payeeId} onChange={(e) => setPayeeId(e.target.value)} error={errors.payeeId}>
            {payees.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name} · {formatIban(p.iban)}
              </option>
            ))}
          </SelectField>
        ) : (
          <div className="two-fields">
            <Field
              label="Recipient's name"
              autoComplete="off"
              value={creditorName}
              onChange={(e) => setCreditorName(e.target.value)}
              error={errors.creditorName}
            />
            <Field
              label="Recipient's IBAN"
              hint={`Spaces are fine, e.g. ${IBAN_EXAMPLE}.`}
              autoComplete="off"
              autoCapitalize="characters"
              spellCheck={false}
              value={creditorIban}
              onChange={(e) => setCreditorIban(e.target.value)}
              error={errors.creditorIban}
            />
          </div>
        )}
      </fieldset>
      <div id={amountId}>
        <Field
          label={currency ? `Amount (${currency})` : 'Amount'}
          hint={currency ? (exponentOf(currency) === 0 ? `Whole ${currency} only.` : `Up to ${exponentOf(currency)} decimals.`) : undefined}
          inputMode={currency && exponentOf(currency) === 0 ? 'numeric' : 'decimal'}
          autoComplete="off"
          value={amount}
          onChange={(e) => setAmount(e.target.value)}
          error={errors.amount}
        />
      </div>
      <Field
        label="Reference (optional)"
        hint={`What the recipient sees with the money, up to ${MAX_REMITTANCE_LENGTH} characters, e.g. an invoice number.`}
        autoComplete="off"
        value={remittance}
        onChange={(e) => setRemittance(e.target.value)}
        error={errors.remittance}
      />
      <fieldset>
        <legend>When</legend>
        <label className="choice">
          <input type="radio" name="when" checked={when === 'now'} onChange={() => setWhen('now')} />
          Now
        </label>
        <label className="choice">
          <input type="radio" name="when" checked={when === 'repeat'} onChange={() => setWhen('repeat')} />
          Repeat
        </label>
        {when === 'repeat' && (
          <>
            <p className="hint">
              A standing order: the bank sends this amount on each date until the last one, or until you cancel it. A date
              without the money in the account is not paid; the next one is.
            </p>
            <div className="two-fields">
              <SelectField label="Every" value={frequency} onChange={(e) => setFrequency(e.target.value as Frequency)} error={errors.frequency}>
                <option value="WEEKLY">Week</option>
                <option value="MONTHLY">Month</option>
              </SelectField>
              <Field
                label="First payment on"
                hint={`From today (${formatDate(today)}) up to a year ahead.`}
                type="date"
                min={today}
                max={addDays(today, MAX_START_AHEAD_DAYS)}
                value={startOn}
                onChange={(e) => setStartOn(e.target.value)}
                error={errors.startOn}
              />
              <Field
                label="Last payment on (optional)"
                hint="Leave it empty to pay until you cancel."
                type="date"
                min={startOn || today}
                value={endOn}
                onChange={(e) => setEndOn(e.target.value)}
                error={errors.endOn}
              />
            </div>
          </>
        )}
      </fieldset>
      <FormError message={error} />
      {when === 'repeat' ? (
        <SubmitButton busy={busy} busyText="Setting up…">
          Set up standing order
        </SubmitButton>
      ) : (
        <SubmitButton busy={busy} busyText="Sending…">
          Send payment
        </SubmitButton>
      )}
    </form>
  );
}

/**
 * While a standing order is due (the bank pays today's date any second), asks again: every
 * second at first, then less often, like a payment in flight. When one has paid a date,
 * `onPaid` (its payment joins the list, the balance moved).
 */
function useFollowStandingOrders(
  orders: StandingOrderFieldsFragment[] | undefined,
  fetching: boolean,
  refetch: Refetch,
  onPaid: (orders: StandingOrderFieldsFragment[]) => void,
) {
  const key = orders ? dueKey(orders, todayUtc()) : '';
  const attempt = useRef(0);
  const lastKey = useRef('');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (key !== lastKey.current) {
      lastKey.current = key;
      attempt.current = 0;
    }
    if (!key || fetching) return;
    const timer = window.setTimeout(() => {
      attempt.current += 1;
      setTick((t) => t + 1);
      refetch({ requestPolicy: 'network-only' });
    }, pollDelayMs(attempt.current));
    return () => window.clearTimeout(timer);
  }, [key, fetching, tick, refetch]);

  const before = useRef<Map<string, number>>(undefined);
  useEffect(() => {
    if (!orders) return;
    const paid = ordersThatPaid(before.current, orders);
    before.current = runsMap(orders);
    if (paid.length) onPaid(paid);
  }, [orders, onPaid]);
}

function StandingOrders({
  orders,
  names,
  onChanged,
}: {
  orders: StandingOrderFieldsFragment[];
  names: Map<string, string>;
  onChanged: () => void;
}) {
  return (
    <section className="card" aria-labelledby="standing-orders">
      <h2 id="standing-orders">Standing orders</h2>
      <ul className="payees" aria-label="Your standing orders, active first">
        {orders.map((order) => (
          <StandingOrderLine key={order.id} order={order} names={names} onCancelled={onChanged} />
        ))}
        {orders.length === 0 && (
          <li className="muted">No standing orders yet. Choose Repeat when you send money to pay the same amount every week or month.</li>
        )}
      </ul>
    </section>
  );
}

function StandingOrderLine({
  order,
  names,
  onCancelled,
}: {
  order: StandingOrderFieldsFragment;
  names: Map<string, string>;
  onCancelled: () => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const toasts = useToasts();
  const [, cancel] = useMutation(CancelStandingOrderMutation);
  const money = formatMoney(order.amount.amount, order.amount.currency);
  const account = names.get(order.fromAccount.id) ?? formatAccountNumber(order.fromAccount.number);
  const active = order.status === 'ACTIVE';

  const cancelIt = async () => {
    setBusy(true);
    setError(undefined);
    const result = await cancel({ id: order.id });
    setBusy(false);
    const cancelled = result.data?.cancelStandingOrder;
    if (cancelled) {
      setConfirming(false);
      toasts.show(cancelledText(cancelled), 'info');
      onCancelled();
      return;
    }
    const described = describePaymentError(result.error, 'cancelStandingOrder');
    if (described.code === 'NOT_FOUND') onCancelled();
    setError(described.message);
  };

  return (
    <li className="payee-line" data-testid="standing-order">
      <div>
        <strong>{order.creditorName}</strong> <span className="number small">{formatIban(order.creditorIban)}</span>
        <div data-testid="standing-order-schedule">
          {money} · {scheduleText(order)}
        </div>
        {order.remittance && <div className="muted">Reference: {order.remittance}</div>}
        <div className="small">
          <span data-testid="standing-order-runs">{runsText(order.runs)}</span>
          {order.lastRunOn && ` · Last paid ${formatDate(order.lastRunOn)}`}
        </div>
        <div className="muted small">
          From {account} · {periodText(order)}
        </div>
        {error && <p className="field-error">{error}</p>}
      </div>
      <div className="row">
        <span data-testid="standing-order-status">
          <StatusBadge status={order.status} labels={{ [order.status]: standingOrderStatusText(order) }} />
        </span>
        {active &&
          (confirming ? (
            <>
              <span className="small">{cancelQuestion(order)}</span>
              <button type="button" className="danger" disabled={busy} onClick={() => void cancelIt()}>
                {busy ? 'Cancelling…' : 'Yes, cancel'}
              </button>
              <button type="button" disabled={busy} onClick={() => setConfirming(false)}>
                Keep
              </button>
            </>
          ) : (
            <button type="button" aria-label={`Cancel the standing order to ${order.creditorName} (${money})`} onClick={() => setConfirming(true)}>
              Cancel…
            </button>
          ))}
      </div>
    </li>
  );
}

/** The payments, newest first, paged with Load more; each page follows its payments in flight. */
function PaymentsList({ version, names }: { version: number; names: Map<string, string> }) {
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  // Bumped when something may have moved a payment on: loaded pages ask again.
  const [signal, setSignal] = useState(0);
  useEffect(() => setCursors([null]), [version]);
  useEffect(() => {
    const stopBalances = onBalancesChanged(() => setSignal((s) => s + 1));
    const stopNotifications = onNotificationEvent((event) => {
      if (event.type === 'added' && event.notification.kind === 'PAYMENT') setSignal((s) => s + 1);
    });
    return () => {
      stopBalances();
      stopNotifications();
    };
  }, []);
  return (
    <ul className="payments" aria-label="Your payments, newest first">
      {cursors.map((after, index) => (
        <PaymentPage
          key={`${version}-${after ?? 'first'}`}
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

function PaymentPage({
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
    query: MyPaymentsQuery,
    variables: { first: PAGE_SIZE, after },
    requestPolicy: 'network-only',
  });
  const connection = data?.me?.payments;
  const payments = useMemo(() => connection?.edges.map((edge) => edge.node) ?? [], [connection]);
  useFollowPayments(payments, fetching, refetch);
  const failure = error ? describePaymentError(error, 'load') : missing('We could not load your payments.');
  const status = loadStatus({ fetching, loaded: Boolean(connection), empty: after === null && payments.length === 0, failure });
  const firstSignal = useRef(signal);
  useEffect(() => {
    if (signal !== firstSignal.current) refetch({ requestPolicy: 'network-only' });
  }, [signal, refetch]);

  return (
    <>
      {payments.map((payment) => (
        <PaymentLine key={payment.id} payment={payment} names={names} />
      ))}
      <QueryState
        item
        status={status}
        failure={failure}
        onRetry={() => refetch({ requestPolicy: 'network-only' })}
        loading="Loading your payments…"
        empty="You have not sent money to another bank yet."
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
 * While a payment on this page is in flight, asks again (every second, then less often); a
 * payment that came back or failed refreshes the balances, one that completed says so.
 */
function useFollowPayments(payments: PaymentFieldsFragment[], fetching: boolean, refetch: (opts?: { requestPolicy: 'network-only' }) => void) {
  const toasts = useToasts();
  const key = flightKey(payments);
  const attempt = useRef(0);
  const lastKey = useRef('');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (key !== lastKey.current) {
      lastKey.current = key;
      attempt.current = 0;
    }
    if (!key || fetching) return;
    const timer = window.setTimeout(() => {
      attempt.current += 1;
      setTick((t) => t + 1);
      refetch({ requestPolicy: 'network-only' });
    }, pollDelayMs(attempt.current));
    return () => window.clearTimeout(timer);
  }, [key, fetching, tick, refetch]);

  const before = useRef(new Map<string, string>());
  useEffect(() => {
    const changes = statusChanges(before.current, payments);
    before.current = statusMap(payments);
    const moved = new Set<string>();
    for (const { payment } of changes) {
      const money = formatMoney(payment.amount.amount, payment.amount.currency);
      if (payment.status === 'COMPLETED') toasts.show(`Your payment of ${money} to ${payment.creditorName} has arrived.`, 'success');
      if (payment.status === 'RETURNED' || payment.status === 'FAILED') {
        moved.add(payment.fromAccount.id);
        // With live alerts on, the money coming back has its own toast.
        if (payment.status === 'RETURNED' && !LIVE_NOTIFICATIONS) {
          toasts.show(`Your payment of ${money} to ${payment.creditorName} came back; the money is in your account.`, 'info');
        }
      }
    }
    if (moved.size) balancesChanged({ accountIds: [...moved] });
  }, [payments, toasts]);
}

function PaymentLine({ payment, names }: { payment: PaymentFieldsFragment; names: Map<string, string> }) {
  const money = formatMoney(payment.amount.amount, payment.amount.currency);
  const settledBack = payment.status === 'FAILED' || payment.status === 'RETURNED';
  const from = names.get(payment.fromAccount.id) ?? formatAccountNumber(payment.fromAccount.number);
  return (
    <li className="payment-line" data-testid="payment">
      <div>
        <strong>{payment.creditorName}</strong> <span className="number small">{formatIban(payment.creditorIban)}</span>
        {payment.remittance && <div className="muted">Reference: {payment.remittance}</div>}
        <div className="small" data-testid="payment-note">
          {paymentStatusNote(payment)}
        </div>
        <div className="muted small">
          From {from} · <time dateTime={payment.createdAt}>{formatMoment(payment.createdAt)}</time>
        </div>
      </div>
      <div className="amounts">
        <span className={settledBack ? 'muted' : 'debit'} data-testid="payment-amount">
          {settledBack ? money : `-${money}`}
        </span>
        <span data-testid="payment-status">
          <StatusBadge status={payment.status} labels={PAYMENT_STATUS_LABELS} />
        </span>
      </div>
    </li>
  );
}

function Payees({
  payees,
  onChanged,
  onPay,
}: {
  payees: PayeeFieldsFragment[];
  onChanged: () => void;
  onPay: (payeeId: string) => void;
}) {
  return (
    <section className="card" aria-labelledby="payees">
      <h2 id="payees">Payees</h2>
      <ul className="payees" aria-label="Your payees">
        {payees.map((payee) => (
          <PayeeLine key={payee.id} payee={payee} onPay={onPay} onRemoved={onChanged} />
        ))}
        {payees.length === 0 && <li className="muted">No payees yet. Save the people and businesses you pay often.</li>}
      </ul>
      <AddPayee payees={payees} onAdded={onChanged} />
    </section>
  );
}

function PayeeLine({ payee, onPay, onRemoved }: { payee: PayeeFieldsFragment; onPay: (id: string) => void; onRemoved: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const toasts = useToasts();
  const [, remove] = useMutation(RemovePayeeMutation);

  const removeIt = async () => {
    setBusy(true);
    setError(undefined);
    const result = await remove({ id: payee.id });
    setBusy(false);
    if (result.data) {
      toasts.show(result.data.removePayee ? `Removed ${payee.name}.` : `${payee.name} was already removed.`, 'info');
      onRemoved();
      return;
    }
    const described = describePaymentError(result.error, 'removePayee');
    if (described.code === 'NOT_FOUND') onRemoved();
    setError(described.message);
  };

  return (
    <li className="payee-line" data-testid="payee">
      <div>
        <strong>{payee.name}</strong>
        <div className="number small">{formatIban(payee.iban)}</div>
        {error && <p className="field-error">{error}</p>}
      </div>
      <div className="row">
        {confirming ? (
          <>
            <span className="small">Remove {payee.name}?</span>
            <button type="button" className="danger" disabled={busy} onClick={() => void removeIt()}>
              {busy ? 'Removing…' : 'Yes, remove'}
            </button>
            <button type="button" disabled={busy} onClick={() => setConfirming(false)}>
              Keep
            </button>
          </>
        ) : (
          <>
            <button type="button" aria-label={`Pay ${payee.name}`} onClick={() => onPay(payee.id)}>
              Pay
            </button>
            <button type="button" aria-label={`Remove ${payee.name}`} onClick={() => setConfirming(true)}>
              Remove…
            </button>
          </>
        )}
      </div>
    </li>
  );
}

function AddPayee({ payees, onAdded }: { payees: PayeeFieldsFragment[]; onAdded: () => void }) {
  const [name, setName] = useState('');
  const [iban, setIban] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const toasts = useToasts();
  const [, add] = useMutation(AddPayeeMutation);
  const existing = payeeWithIban(payees, iban);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (busy) return;
    const checked = validatePayee({ name, iban });
    setErrors(checked.errors);
    setError(undefined);
    if (!checked.input) return;
    setBusy(true);
    // Saving is safe to repeat: the same IBAN again only sets the name.
    const result = await add({ input: checked.input });
    setBusy(false);
    const payee = result.data?.addPayee;
    if (payee) {
      toasts.show(
        existing && existing.name !== payee.name ? `Renamed ${existing.name} to ${payee.name}.` : `Saved ${payee.name} as a payee.`,
        'success',
      );
      setName('');
      setIban('');
      onAdded();
      return;
    }
    const described = describePaymentError(result.error, 'addPayee');
    if (described.code === 'BAD_USER_INPUT' && (described.field === 'name' || described.field === 'iban')) {
      setErrors({ [described.field]: described.message });
    } else setError(described.message);
  };

  return (
    <form onSubmit={submit} noValidate aria-labelledby="add-payee" className="add-payee">
      <h3 id="add-payee">Add a payee</h3>
      <div className="two-fields">
        <Field
          label="Payee's name"
          hint="A person or a business, as their bank knows them."
          autoComplete="off"
          value={name}
          onChange={(e) => setName(e.target.value)}
          error={errors.name}
        />
        <Field
          label="Payee's IBAN"
          hint={existing ? `Already saved as ${existing.name}: saving changes its name.` : `Spaces are fine, e.g. ${IBAN_EXAMPLE}.`}
          autoComplete="off"
          autoCapitalize="characters"
          spellCheck={false}
          value={iban}
          onChange={(e) => setIban(e.target.value)}
          error={errors.iban}
        />
      </div>
      <FormError message={error} />
      <SubmitButton busy={busy} busyText="Saving…">
        {existing ? 'Rename payee' : 'Save payee'}
      </SubmitButton>
    </form>
  );
}
