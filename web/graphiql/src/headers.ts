/**
 * The request headers editor's text and the access token: putting `Authorization: Bearer …`
 * into it, telling which headers the page may fill in by itself, and which operations go
 * without it.
 */
import { Kind, parse, type DocumentNode, type SelectionSetNode } from 'graphql';

const isAuthorization = (name: string) => name.toLowerCase() === 'authorization';

/** The headers editor's text as an object; undefined when it is not a JSON object. */
export function parseHeaders(text: string | null | undefined): Record<string, unknown> | undefined {
  if (!text || !text.trim()) return {};
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The Authorization header's value, whatever its case; undefined when there is none. */
export function authorizationOf(headers: Record<string, unknown>): string | undefined {
  const entry = Object.entries(headers).find(([name]) => isAuthorization(name));
  return entry ? String(entry[1]) : undefined;
}

/** The headers with `Authorization: Bearer <token>` (any other Authorization replaced), as the editor shows them. */
export function withAuthorization(text: string | null | undefined, token: string): string {
  const others = Object.entries(parseHeaders(text) ?? {}).filter(([name]) => !isAuthorization(name));
  return `${JSON.stringify({ Authorization: `Bearer ${token}`, ...Object.fromEntries(others) }, null, 2)}\n`;
}

/**
 * Whether a tab's headers should get the current token without asking: they have no
 * Authorization, an empty one ("Bearer "), or a token this page put there before (an earlier
 * sign-in). A token someone typed in, or headers that are not JSON, are left alone.
 */
export function shouldFill(text: string | null | undefined, token: string, earlier: ReadonlySet<string>): boolean {
  const headers = parseHeaders(text);
  if (!headers) return false;
  const value = authorizationOf(headers)?.trim();
  if (!value || /^bearer$/i.test(value)) return true;
  const current = value.match(/^bearer\s+(.+)$/i)?.[1];
  return current !== undefined && current !== token && earlier.has(current);
}

/** What signing in answered, as far as this page cares. */
export interface SignedIn {
  accessToken: string;
  expiresIn?: number;
  email?: string;
}

/**
 * The token in a result of `login`, `verifyEmail` or `refreshToken` (an operation run in a tab),
 * so that running the sign-in example puts the token into the headers too. (`register` signs
 * nobody in: it answers with a message, and the e-mailed link's token goes to `verifyEmail`.)
 */
export function signedInFrom(result: unknown): SignedIn | undefined {
  const data = (result as { data?: Record<string, unknown> | null } | null)?.data;
  if (!data || typeof data !== 'object') return undefined;
  for (const field of ['login', 'verifyEmail', 'refreshToken']) {
    const payload = data[field] as { accessToken?: unknown; expiresIn?: unknown; user?: { email?: unknown } } | null | undefined;
    if (payload && typeof payload.accessToken === 'string' && payload.accessToken) {
      return {
        accessToken: payload.accessToken,
        expiresIn: typeof payload.expiresIn === 'number' ? payload.expiresIn : undefined,
        email: typeof payload.user?.email === 'string' ? payload.user.email : undefined,
      };
    }
  }
  return undefined;
}

/** The sign-ins that try a password: the bank refuses them (FORBIDDEN) on a request carrying a token. */
const PASSWORD_FIELDS = new Set(['login', 'register', 'verifyEmail']);

/**
 * Whether the operation to run (`operationName`, or the document's only one) is a mutation that
 * selects `login`, `register` or `verifyEmail`, fragments included: such a request goes without
 * the token in the headers, so that signing in again from a tab that has one works. A document
 * that does not parse is left to the bank to answer.
 */
export function triesPassword(document: DocumentNode | string | null | undefined, operationName?: string | null): boolean {
  let parsed: DocumentNode | undefined;
  try {
    parsed = typeof document === 'string' ? parse(document) : (document ?? undefined);
  } catch {
    return false;
  }
  if (!parsed) return false;
  const operations = parsed.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName
    ? operations.find((o) => o.name?.value === operationName)
    : operations.length === 1
      ? operations[0]
      : undefined;
  if (!operation || operation.operation !== 'mutation') return false;
  const fragments = new Map(
    parsed.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])),
  );
  const seen = new Set<string>();
  const selects = (set: SelectionSetNode): boolean =>
    set.selections.some((selection) => {
      if (selection.kind === Kind.FIELD) return PASSWORD_FIELDS.has(selection.name.value);
      if (selection.kind === Kind.INLINE_FRAGMENT) return selects(selection.selectionSet);
      const name = selection.name.value;
      const fragment = fragments.get(name);
      if (!fragment || seen.has(name)) return false;
      seen.add(name);
      return selects(fragment.selectionSet);
    });
  return selects(operation.selectionSet);
}
