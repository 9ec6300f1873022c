import { useRef, useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { DepositMutation, TransferMutation, WithdrawMutation } from '../graphql/operations';
import { describeError } from '../lib/errors';
import { balancesChanged } from '../lib/events';
import { SubmissionKeys } from '../lib/idempotency';
import { exponentOf, formatMoney } from '../lib/money';
import { hasErrors, normalizeAccountNumber, validateMoneyForm, type FieldErrors, type MoneyAction } from '../lib/validation';
import { rememberOwnTransaction } from '../notifications/alerts';
import { useToasts } from '../notifications/Toasts';
import { Field, FormError, SelectField, SubmitButton, accountName, formatAccountNumber } from '../ui/components';

interface OwnAccount {
  id: string;
  number: string;
  currency: string;
  status: string;
  nickname?: string | null;
  kind: string;
}

const ACTIONS: Record<MoneyAction, { label: string; button: string; busy: string; done: string }> = {
  deposit: { label: 'Deposit', button: 'Deposit', busy: 'Depositing…', done: 'Deposited' },
  withdraw: { label: 'Withdraw', button: 'Withdraw', busy: 'Withdrawing…', done: 'Withdrew' },
  transfer: { label: 'Transfer', button: 'Send money', busy: 'Sending…', done: 'Sent' },
};

/** Deposit, withdraw or transfer from one account; one idempotency key per submission. */
export function MoneyForm({ account, ownAccounts }: { account: OwnAccount; ownAccounts: OwnAccount[] }) {
  const [action, setAction] = useState<MoneyAction>('deposit');
  const [amount, setAmount] = useState('');
  const [toAccountId, setToAccountId] = useState('');
  const [toAccountNumber, setToAccountNumber] = useState('');
  const [description, setDescription] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submitting = useRef(false); // a second click before React re-renders does nothing
  const keys = useRef(new SubmissionKeys());
  const toasts = useToasts();
  const [, deposit] = useMutation(DepositMutation);
  const [, withdraw] = useMutation(WithdrawMutation);
  const [, transfer] = useMutation(TransferMutation);

  const targets = ownAccounts.filter((other) => other.id !== account.id && other.status === 'ACTIVE' && other.currency === account.currency);
  const decimals = exponentOf(account.currency);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (submitting.current) return;
    const checked = validateMoneyForm({
      action,
      amount,
      currency: account.currency,
      toAccountId,
      toAccountNumber,
      fromAccountId: account.id,
      fromAccountNumber: account.number,
      description,
    });
    setErrors(checked.errors);
    setError(undefined);
    if (hasErrors(checked.errors) || !checked.amount) return;

    const values = {
      action,
      accountId: account.id,
      amount: checked.amount,
      to: action === 'transfer' ? toAccountId || normalizeAccountNumber(toAccountNumber) : undefined,
      description: description.trim() || null,
    };
    const idempotencyKey = keys.current.keyFor(values);
    submitting.current = true;
    setBusy(true);
    const common = { amount: checked.amount, idempotencyKey, description: values.description };
    const result =
      action === 'deposit'
        ? await deposit({ input: { accountId: account.id, ...common } })
        : action === 'withdraw'
          ? await withdraw({ input: { accountId: account.id, ...common } })
          : await transfer({
              input: {
                fromAccountId: account.id,
                ...(toAccountId ? { toAccountId } : { toAccountNumber: normalizeAccountNumber(toAccountNumber) }),
                ...common,
              },
            });
    submitting.current = false;
    setBusy(false);

    const moved = result.data && ('deposit' in result.data ? result.data.deposit : 'withdraw' in result.data ? result.data.withdraw : result.data.transfer);
    if (moved) {
      rememberOwnTransaction(moved.id); // its live alert needs no second toast
      keys.current.settle();
      setAmount('');
      setDescription('');
      toasts.show(`${ACTIONS[action].done} ${formatMoney(moved.amount.amount, moved.amount.currency)}.`, 'success');
      balancesChanged();
      return;
    }
    const described = describeError(result.error, {
      NOT_FOUND: 'There is no account with that number. Check it and try again.',
      SECOND_APPROVAL_REQUIRED:
        'Money a member of staff moves out of a customer’s account needs a second member of staff: your request is recorded, and nothing moves until a second member of staff makes the same request.',
    });
    if (described.retryable) keys.current.keepForRetry();
    else keys.current.settle();
    if (described.code === 'BAD_USER_INPUT' && described.field === 'amount') setErrors({ amount: described.message });
    else setError(described.message);
  };

  return (
    <form onSubmit={submit} noValidate className="card money-form" aria-labelledby="move-money">
      <h2 id="move-money">Move money</h2>
      <fieldset className="segmented">
        <legend>What do you want to do?</legend>
        {(Object.keys(ACTIONS) as MoneyAction[]).map((value) => (
          <label key={value} className="choice">
            <input
              type="radio"
              name="action"
              value={value}
              checked={action === value}
              onChange={() => {
                setAction(value);
                setErrors({});
                setError(undefined);
              }}
            />
            {ACTIONS[value].label}
          </label>
        ))}
      </fieldset>
      {action === 'transfer' && (
        <>
          <SelectField label="To" value={toAccountId} onChange={(e) => setToAccountId(e.target.value)} error={errors.to}>
            <option value="">Another account (enter its number)</option>
            {targets.map((other) => (
              <option key={other.id} value={other.id}>
                {accountName(other)} · {formatAccountNumber(other.number)}
              </option>
            ))}
          </SelectField>
          {!toAccountId && (
            <Field
              label="Recipient's account number"
              hint={`An account in ${account.currency}, e.g. XB12 0001 2345 6789 01.`}
              value={toAccountNumber}
              onChange={(e) => setToAccountNumber(e.target.value)}
              error={errors.toAccountNumber}
              autoComplete="off"
              spellCheck={false}
            />
          )}
        </>
      )}
      <Field
        label={`Amount (${account.currency})`}
        hint={decimals === 0 ? 'Whole numbers only.' : `Up to ${decimals} decimals, e.g. 12.50.`}
        inputMode={decimals === 0 ? 'numeric' : 'decimal'}
        autoComplete="off"
        value={amount}
        onChange={(e) => setAmount(e.target.value)}
        error={errors.amount}
      />
      <Field label="Description (optional)" value={description} maxLength={140} onChange={(e) => setDescription(e.target.value)} error={errors.description} />
      <FormError message={error} />
      <SubmitButton busy={busy} busyText={ACTIONS[action].busy}>
        {ACTIONS[action].button}
      </SubmitButton>
    </form>
  );
}
