import { useState, type FormEvent } from 'react';
import { signIn, signUp, useSession } from '../auth/session';
import { describeError, type Described } from '../lib/errors';
import { hasErrors, validateSignIn, validateSignUp, type FieldErrors } from '../lib/validation';
import { Link, navigate, usePageTitle } from '../router';
import { Field, Notice, SubmitButton } from '../ui/components';
import { FormFailure } from '../ui/QueryState';

export function SignIn() {
  usePageTitle('Sign in');
  const session = useSession();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<Described>();
  const [busy, setBusy] = useState(false);

  const submit = async (event?: FormEvent) => {
    event?.preventDefault();
    if (busy) return;
    const found = validateSignIn({ email, password });
    setErrors(found);
    setFailure(undefined);
    if (hasErrors(found)) return;
    setBusy(true);
    const result = await signIn(email, password);
    setBusy(false);
    if (result.data?.login) navigate('/', { replace: true });
    else setFailure(describeError(result.error, { UNAUTHENTICATED: 'Wrong e-mail address or password.' }));
  };

  return (
    <section className="narrow">
      <h1 tabIndex={-1}>Sign in</h1>
      {session.status === 'signedOut' && session.reason && <Notice tone="warning">{session.reason}</Notice>}
      <form onSubmit={submit} noValidate>
        <Field label="E-mail address" type="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} error={errors.email} required />
        <Field label="Password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} error={errors.password} required />
        <FormFailure failure={failure} onRetry={() => void submit()} busy={busy} />
        <SubmitButton busy={busy} busyText="Signing in…">Sign in</SubmitButton>
      </form>
      <p>
        New here? <Link href="/signup">Open your bank</Link>
      </p>
    </section>
  );
}

export function SignUp() {
  usePageTitle('Sign up');
  const [fullName, setFullName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<Described>();
  const [busy, setBusy] = useState(false);

  const submit = async (event?: FormEvent) => {
    event?.preventDefault();
    if (busy) return;
    const found = validateSignUp({ fullName, email, password });
    setErrors(found);
    setFailure(undefined);
    if (hasErrors(found)) return;
    setBusy(true);
    const result = await signUp(fullName, email, password);
    setBusy(false);
    if (result.data?.register) {
      navigate('/', { replace: true });
      return;
    }
    const described = describeError(result.error);
    if (described.code === 'BAD_USER_INPUT' && described.field && ['email', 'password', 'fullName'].includes(described.field)) {
      setErrors({ [described.field]: described.message });
    } else {
      setFailure(described);
    }
  };

  return (
    <section className="narrow">
      <h1 tabIndex={-1}>Sign up</h1>
      <form onSubmit={submit} noValidate>
        <Field label="Full name" autoComplete="name" value={fullName} onChange={(e) => setFullName(e.target.value)} error={errors.fullName} required />
        <Field label="E-mail address" type="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} error={errors.email} required />
        <Field
          label="Password"
          type="password"
          autoComplete="new-password"
          hint="At least 10 characters, with a letter and a digit."
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={errors.password}
          required
        />
        <FormFailure failure={failure} onRetry={() => void submit()} busy={busy} />
        <SubmitButton busy={busy} busyText="Creating your profile…">Sign up</SubmitButton>
      </form>
      <p>
        Already a customer? <Link href="/signin">Sign in</Link>
      </p>
    </section>
  );
}
