/**
 * Signing in from the page: a panel (a GraphiQL plugin) that runs the `login` mutation with the
 * e-mail address and password typed into it and puts the access token into the request
 * headers, and a component that keeps every tab's headers on the latest token.
 */
import { Button, useGraphiQL, type GraphiQLPlugin } from '@graphiql/react';
import { useEffect, useId, useState, type FormEvent, type SVGProps } from 'react';
import { httpUrl } from './fetcher';
import { shouldFill, signedInFrom, withAuthorization } from './headers';
import { signedIn, useSession } from './session';

const LOGIN = `mutation SignIn($input: LoginInput!) {
  login(input: $input) { accessToken expiresIn user { email } }
}`;

/** Why signing in failed, in a sentence: the API's own words with its code, or what went wrong on the way. */
function failureOf(response: Response, body: unknown): string {
  if (response.status === 429) return 'Too many requests in a short time (HTTP 429). Wait a minute, then sign in again.';
  const first = (body as { errors?: Array<{ message?: string; extensions?: { code?: string } }> } | undefined)?.errors?.[0];
  if (first?.extensions?.code === 'UNAUTHENTICATED') {
    return 'Wrong e-mail address or password, or the address is not confirmed yet (with the link the bank e-mailed at sign-up).';
  }
  if (first?.message) {
    const text = first.message[0].toUpperCase() + first.message.slice(1);
    return first.extensions?.code ? `${text} (${first.extensions.code})` : text;
  }
  return `The bank answered HTTP ${response.status}.`;
}

/** "15 minutes" */
const minutes = (seconds: number) => {
  const m = Math.max(1, Math.round(seconds / 60));
  return m === 1 ? '1 minute' : `${m} minutes`;
};

function SignInPanel() {
  const { signedIn: current } = useSession();
  const headerEditor = useGraphiQL((state) => state.headerEditor);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const id = useId();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(undefined);
    try {
      const response = await fetch(httpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ operationName: 'SignIn', query: LOGIN, variables: { input: { email: email.trim(), password } } }),
      });
      const body: unknown = await response.json().catch(() => undefined);
      const done = signedInFrom(body);
      if (!done) {
        setError(failureOf(response, body));
        return;
      }
      // This tab's headers take the token whatever they said; the other tabs follow (TokenInHeaders).
      headerEditor?.setValue(withAuthorization(headerEditor.getValue(), done.accessToken));
      signedIn({ ...done, email: done.email ?? email.trim() });
      setPassword('');
    } catch {
      setError('Could not reach the bank. Is the stack up (make up)?');
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="bank-sign-in" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} className="bank-sign-in-title">
        Sign in
      </h2>
      <p>
        Runs the <code>login</code> mutation and puts the access token into the Headers of every tab as{' '}
        <code>Authorization: Bearer …</code>.
      </p>
      <form onSubmit={submit} className="bank-sign-in-form">
        <label htmlFor={`${id}-email`}>E-mail address</label>
        <input
          id={`${id}-email`}
          type="email"
          autoComplete="username"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          required
        />
        <label htmlFor={`${id}-password`}>Password</label>
        <input
          id={`${id}-password`}
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
        <Button type="submit" disabled={busy} state={error ? 'error' : undefined}>
          {busy ? 'Signing in…' : 'Sign in'}
        </Button>
      </form>
      {error && (
        <p role="alert" className="bank-sign-in-error">
          {error}
        </p>
      )}
      {current && !error && (
        <p role="status" className="bank-sign-in-done">
          Signed in{current.email ? ` as ${current.email}` : ''}. The token is in the Headers
          {current.expiresIn ? ` and expires in ${minutes(current.expiresIn)}` : ''}; sign in again then.
        </p>
      )}
      <p className="bank-sign-in-hint">
        The demo customer and the administrator: <code>make up</code> prints their e-mail addresses and passwords (kept in{' '}
        <code>.data/secrets.env</code>). Or sign up in the web app at <a href="/">/</a> and confirm your address with
        the link the bank e-mails you.
      </p>
    </section>
  );
}

function KeyIcon(props: SVGProps<SVGSVGElement>) {
  return (
    <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinecap="round" strokeLinejoin="round" {...props}>
      <circle cx="8" cy="15" r="4" />
      <path d="M10.8 12.2 20 3M16 7l3 3M14 9l2 2" />
    </svg>
  );
}

export const SIGN_IN_PLUGIN: GraphiQLPlugin = { title: 'Sign in', icon: KeyIcon, content: SignInPanel };

/**
 * Keeps the token in the headers: when a tab is opened or chosen, or the page signs in, the
 * active tab's headers get the latest token if they have none, an empty one, or an earlier one
 * this page put there. Headers someone typed a token into are left alone.
 */
export function TokenInHeaders() {
  const { signedIn: current, earlier } = useSession();
  const headerEditor = useGraphiQL((state) => state.headerEditor);
  const activeTabIndex = useGraphiQL((state) => state.activeTabIndex);
  const tabCount = useGraphiQL((state) => state.tabs.length);
  useEffect(() => {
    const token = current?.accessToken;
    if (!headerEditor || !token) return;
    const text = headerEditor.getValue();
    if (shouldFill(text, token, earlier)) headerEditor.setValue(withAuthorization(text, token));
  }, [headerEditor, current, earlier, activeTabIndex, tabCount]);
  return null;
}
