import { useState, type FormEvent } from 'react';
import { useClient, useMutation } from 'urql';
import type { StaffAccountFieldsFragment } from '../gql/graphql';
import {
  FreezeAccountMutation,
  StaffAccountByIdQuery,
  StaffAccountByNumberQuery,
  UnfreezeAccountMutation,
} from '../graphql/operations';
import { describeError, type Described } from '../lib/errors';
import { formatMoney } from '../lib/money';
import { hasErrors, normalizeAccountNumber, validateFreeze, type FieldErrors } from '../lib/validation';
import { usePageTitle } from '../router';
import { Field, FormError, Notice, StatusBadge, SubmitButton, accountName, formatAccountNumber } from '../ui/components';
import { useToasts } from '../notifications/Toasts';
import { LoadFailure } from '../ui/QueryState';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Tellers and administrators: find any account by number or id, freeze and unfreeze it. */
export function Staff() {
  usePageTitle('Staff: find an account');
  const client = useClient();
  const [search, setSearch] = useState('');
  const [searchError, setSearchError] = useState<string>();
  const [searching, setSearching] = useState(false);
  // The search could not be run (no answer, a rate limit, a failure inside the bank): Try again.
  const [failure, setFailure] = useState<Described>();
  const [account, setAccount] = useState<StaffAccountFieldsFragment | null>();

  const find = async (event?: FormEvent) => {
    event?.preventDefault();
    const text = search.trim();
    setSearchError(undefined);
    setFailure(undefined);
    if (!text) {
      setSearchError('Enter an account number or id.');
      return;
    }
    setSearching(true);
    const result = UUID.test(text)
      ? await client.query(StaffAccountByIdQuery, { id: text }, { requestPolicy: 'network-only' }).toPromise()
      : await client
          .query(StaffAccountByNumberQuery, { number: normalizeAccountNumber(text) }, { requestPolicy: 'network-only' })
          .toPromise();
    setSearching(false);
    const found = result.data && ('account' in result.data ? result.data.account : result.data.accountByNumber);
    if (found) setAccount(found);
    else {
      setAccount(null);
      const described = result.error ? describeError(result.error) : undefined;
      if (described?.retryable) setFailure(described);
      else setSearchError(described?.message ?? 'No account has that number or id.');
    }
  };

  return (
    <section>
      <h1 tabIndex={-1}>Find an account</h1>
      <form onSubmit={find} noValidate className="card search">
        <Field
          label="Account number or id"
          hint="e.g. XB12 0001 2345 6789 01, or the account's id"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          error={searchError}
          autoComplete="off"
          spellCheck={false}
        />
        <SubmitButton busy={searching} busyText="Searching…">Find</SubmitButton>
      </form>
      {failure && <LoadFailure failure={failure} onRetry={() => void find()} busy={searching} />}
      {account && <StaffAccount account={account} onChanged={(changes) => setAccount({ ...account, ...changes })} />}
    </section>
  );
}

function StaffAccount({
  account,
  onChanged,
}: {
  account: StaffAccountFieldsFragment;
  onChanged: (changes: Partial<StaffAccountFieldsFragment>) => void;
}) {
  const [reason, setReason] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<string>();
  const toasts = useToasts();
  const [{ fetching: freezing }, freeze] = useMutation(FreezeAccountMutation);
  const [{ fetching: unfreezing }, unfreeze] = useMutation(UnfreezeAccountMutation);

  const submitFreeze = async (event: FormEvent) => {
    event.preventDefault();
    if (freezing) return;
    const found = validateFreeze(reason);
    setErrors(found);
    setError(undefined);
    if (hasErrors(found)) return;
    const result = await freeze({ id: account.id, reason: reason.trim() });
    if (result.data?.freezeAccount) {
      onChanged(result.data.freezeAccount);
      setReason('');
      toasts.show(`Account ${formatAccountNumber(account.number)} frozen.`, 'success');
    } else setError(describeError(result.error).message);
  };

  const submitUnfreeze = async () => {
    if (unfreezing) return;
    setError(undefined);
    const result = await unfreeze({ id: account.id });
    if (result.data?.unfreezeAccount) {
      onChanged(result.data.unfreezeAccount);
      toasts.show(`Account ${formatAccountNumber(account.number)} unfrozen.`, 'success');
    } else setError(describeError(result.error).message);
  };

  return (
    <article className="card" aria-labelledby="found-account">
      <div className="page-head">
        <h2 id="found-account">{accountName(account)}</h2>
        <StatusBadge status={account.status} />
      </div>
      <dl className="facts">
        <div>
          <dt>Number</dt>
          <dd className="number">{formatAccountNumber(account.number)}</dd>
        </div>
        <div>
          <dt>Owner</dt>
          <dd>
            {account.owner.fullName} <span className="muted">({account.owner.email})</span>
          </dd>
        </div>
        <div>
          <dt>Balance</dt>
          <dd>{formatMoney(account.balance.amount, account.balance.currency)}</dd>
        </div>
        <div>
          <dt>Id</dt>
          <dd className="small">{account.id}</dd>
        </div>
      </dl>
      {account.status === 'FROZEN' && (
        <>
          <Notice tone="warning">Frozen{account.freezeReason ? `: ${account.freezeReason}` : ''}</Notice>
          <button type="button" className="primary" onClick={submitUnfreeze} disabled={unfreezing}>
            {unfreezing ? 'Unfreezing…' : 'Unfreeze account'}
          </button>
        </>
      )}
      {account.status === 'ACTIVE' && (
        <form onSubmit={submitFreeze} noValidate>
          <Field label="Reason for freezing" value={reason} onChange={(e) => setReason(e.target.value)} error={errors.reason} maxLength={200} />
          <SubmitButton busy={freezing} busyText="Freezing…">Freeze account</SubmitButton>
        </form>
      )}
      {account.status === 'CLOSED' && <Notice>This account is closed.</Notice>}
      <FormError message={error} />
    </article>
  );
}
