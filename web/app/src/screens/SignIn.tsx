import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { signUp, startSignIn, useSession } from '../auth/session';
import { describeError, type Described } from '../lib/errors';
import { hasErrors, validateSignUp, type FieldErrors } from '../lib/validation';
import { Link, usePageTitle } from '../router';
import { Field, Notice, SubmitButton } from '../ui/components';
import { FormFailure } from '../ui/QueryState';

/** This browser cannot start a sign-in (no Web Crypto: the page is not on HTTPS). */
const SIGN_IN_UNAVAILABLE_MESSAGE =
  'This browser could not start signing in. Open the bank at its https:// address, or try another browser.';

/**
 * Sign in: the bank's sign-in page (the OpenID Connect provider) asks for the e-mail address
 * and password, and sends the browser back to /callback (Callback.tsx), which signs in.
 */
export function SignIn() {
  usePageTitle('Sign in');
  const session = useSession();

  return (
    <section className="narrow">
      <h1 tabIndex={-1}>Sign in</h1>
      {session.status === 'signedOut' && session.reason && <Notice tone="warning">{session.reason}</Notice>}
      <p>You sign in with your e-mail address and password on the bank’s sign-in page, which brings you back here.</p>
      <StartSignIn>Sign in</StartSignIn>
      <p>
        <Link href="/forgot-password">Forgot your password?</Link>
      </p>
      <p>Just signed up? Confirm your address first with the link we e-mailed you.</p>
      <p>
        New here? <Link href="/signup">Open your bank</Link>
      </p>
    </section>
  );
}

/**
 * The button that starts signing in: the browser leaves for the provider's login page. Usable
 * again when the browser comes back to this page from its history (the back-forward cache keeps
 * the page as it was left, busy).
 */
export function StartSignIn({ children }: { children: ReactNode }) {
  const [failure, setFailure] = useState<Described>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const shown = (event: PageTransitionEvent) => {
      if (event.persisted) setBusy(false);
    };
    window.addEventListener('pageshow', shown);
    return () => window.removeEventListener('pageshow', shown);
  }, []);

  const start = async (event?: FormEvent) => {
    event?.preventDefault();
    if (busy) return;
    setFailure(undefined);
    setBusy(true);
    try {
      await startSignIn();
    } catch {
      setBusy(false);
      setFailure({ code: 'UNKNOWN', message: SIGN_IN_UNAVAILABLE_MESSAGE, retryable: false });
    }
  };

  return (
    <form onSubmit={start} noValidate>
      <FormFailure failure={failure} onRetry={() => void start()} busy={busy} />
      <SubmitButton busy={busy} busyText="Opening the sign-in page…">
        {children}
      </SubmitButton>
    </form>
  );
}

/**
 * Asking to open an account. Nobody is signed in afterwards: the screen shows the bank's answer
 * (the same whether or not the address has an account already) and the rest happens by e-mail,
 * on the confirmation link's page (VerifyEmail.tsx).
 */
export function SignUp() {
  const [fullName, setFullName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<Described>();
  const [busy, setBusy] = useState(false);
  /** The bank's answer once the form is sent: "Check your e-mail: …". */
  const [sent, setSent] = useState<string>();
  usePageTitle(sent ? 'Check your e-mail' : 'Sign up');

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
      setPassword('');
      setSent(result.data.register.message);
      return;
    }
    const described = describeError(result.error);
    if (described.code === 'BAD_USER_INPUT' && described.field && ['email', 'password', 'fullName'].includes(described.field)) {
      setErrors({ [described.field]: described.message });
    } else {
      setFailure(described);
    }
  };

  if (sent) {
    return (
      <section className="narrow">
        <h1 tabIndex={-1}>Check your e-mail</h1>
        <Notice tone="success">{sent}</Notice>
        <p>Open the link in that e-mail and enter the password you just chose: that confirms your address and signs you in.</p>
        <p>
          Nothing came? Look in your spam folder, or{' '}
          <button type="button" className="link" onClick={() => setSent(undefined)}>
            sign up again
          </button>{' '}
          for a new link.
        </p>
        <p>
          Already confirmed? <Link href="/signin">Sign in</Link>
        </p>
      </section>
    );
  }

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
          hint="At least 10 characters, with a letter and a digit. You will need it to confirm your e-mail address."
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={errors.password}
          required
        />
        <FormFailure failure={failure} onRetry={() => void submit()} busy={busy} />
        <SubmitButton busy={busy} busyText="Sending…">Sign up</SubmitButton>
      </form>
      <p>
        Already a customer? <Link href="/signin">Sign in</Link>
      </p>
    </section>
  );
}
