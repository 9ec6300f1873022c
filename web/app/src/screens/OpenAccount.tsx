import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import type { AccountKind } from '../gql/graphql';
import { OpenAccountMutation } from '../graphql/operations';
import { describeError, type Described } from '../lib/errors';
import { balancesChanged } from '../lib/events';
import { CURRENCIES } from '../lib/money';
import { navigate, usePageTitle } from '../router';
import { Field, SelectField, SubmitButton } from '../ui/components';
import { FormFailure } from '../ui/QueryState';

export function OpenAccount() {
  usePageTitle('Open an account');
  const [kind, setKind] = useState<AccountKind>('CHECKING');
  const [currency, setCurrency] = useState('EUR');
  const [nickname, setNickname] = useState('');
  const [failure, setFailure] = useState<Described>();
  const [{ fetching }, open] = useMutation(OpenAccountMutation);

  const submit = async (event?: FormEvent) => {
    event?.preventDefault();
    if (fetching) return;
    setFailure(undefined);
    const result = await open({ input: { kind, currency, nickname: nickname.trim() || null } });
    if (result.data?.openAccount) {
      balancesChanged();
      navigate(`/accounts/${result.data.openAccount.id}`);
    } else {
      setFailure(describeError(result.error, { LIMIT_EXCEEDED: 'You already have the most open accounts allowed (10).' }));
    }
  };

  return (
    <section className="narrow">
      <h1 tabIndex={-1}>Open an account</h1>
      <form onSubmit={submit} noValidate>
        <fieldset>
          <legend>Kind of account</legend>
          {(['CHECKING', 'SAVINGS'] as const).map((value) => (
            <label key={value} className="choice">
              <input type="radio" name="kind" value={value} checked={kind === value} onChange={() => setKind(value)} />
              {value === 'CHECKING' ? 'Checking' : 'Savings'}
            </label>
          ))}
        </fieldset>
        <SelectField label="Currency" value={currency} onChange={(e) => setCurrency(e.target.value)}>
          {CURRENCIES.map((code) => (
            <option key={code} value={code}>
              {code}
            </option>
          ))}
        </SelectField>
        <Field label="Nickname (optional)" value={nickname} maxLength={60} onChange={(e) => setNickname(e.target.value)} />
        <FormFailure failure={failure} onRetry={() => void submit()} busy={fetching} />
        <SubmitButton busy={fetching} busyText="Opening…">Open account</SubmitButton>
      </form>
    </section>
  );
}
