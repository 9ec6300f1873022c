/**
 * The audit trail without React: the services in the page's order, each chain's verification
 * summed up in words, the entries as a table shows them (who, the outcome, the JSON detail
 * pretty-printed), the action filter checked, and pages of entries put together.
 */

/** Every service's trail, in the page's order (the fields of `auditLog`). */
export const AUDIT_SERVICES = ['users', 'accounts', 'transactions', 'notifications', 'loans', 'payments'] as const;

export type AuditService = (typeof AUDIT_SERVICES)[number];

export const SERVICE_TITLES: Readonly<Record<AuditService, string>> = {
  users: 'Users',
  accounts: 'Accounts',
  transactions: 'Transactions',
  notifications: 'Notifications',
  loans: 'Loans',
  payments: 'Payments',
};

/** A service's verification of its chain, as far as the summary cares. */
export interface VerificationLike {
  ok: boolean;
  sealed: number;
  unsealed: number;
  problems: readonly string[];
}

/** A chain verifies when its service says so and names no problem. */
export const verifies = (verification: VerificationLike) => verification.ok && verification.problems.length === 0;

export interface VerificationSummary {
  ok: boolean;
  /** The services whose chain does not verify, in the page's order. */
  failing: AuditService[];
}

export function summariseVerifications(trails: Readonly<Record<AuditService, { verification: VerificationLike }>>): VerificationSummary {
  const failing = AUDIT_SERVICES.filter((service) => !verifies(trails[service].verification));
  return { ok: failing.length === 0, failing };
}

/** "Every trail verifies", or which do not: "2 trails do not verify: Users, Loans". */
export function verdictText(summary: VerificationSummary): string {
  if (summary.ok) return 'Every trail verifies';
  const names = summary.failing.map((service) => SERVICE_TITLES[service]).join(', ');
  return summary.failing.length === 1 ? `1 trail does not verify: ${names}` : `${summary.failing.length} trails do not verify: ${names}`;
}

/** One service's badge. */
export const trailVerdictText = (verification: VerificationLike) => (verifies(verification) ? 'Verified' : 'Does not verify');

const entries = (count: number) => (count === 1 ? '1 entry' : `${count.toLocaleString('en')} entries`);

/** What a verified chain holds: "309 entries in the chain, none changed." */
export function verifiedText(verification: VerificationLike): string {
  if (verification.sealed === 0) return 'No entries sealed yet.';
  return `${entries(verification.sealed)} in the chain, none changed.`;
}

/**
 * Why a chain does not verify, one line each: the problems the service names (an edited entry,
 * a deleted one, a gap), entries left unsealed, or, when it names nothing, that it said so.
 */
export function verificationProblems(verification: VerificationLike): string[] {
  const lines = verification.problems.map((problem) => problem.trim()).filter(Boolean);
  if (verification.unsealed > 0) {
    lines.push(
      verification.unsealed === 1
        ? '1 entry older than a minute is not sealed into the chain.'
        : `${verification.unsealed.toLocaleString('en')} entries older than a minute are not sealed into the chain.`,
    );
  }
  if (lines.length === 0 && !verification.ok) lines.push('The service says its chain does not verify, without naming a problem.');
  return lines;
}

/** One entry, as far as the table cares. */
export interface AuditEntryLike {
  id: string;
  position?: number | null;
  actor: string;
  actorRoles: readonly string[];
  outcome: string;
  before?: string | null;
  after?: string | null;
}

/** Who acted: "you" (the signed-in administrator), nobody signed in, a service, or the user id. */
export function actorText(actor: string, me?: string): string {
  if (me && actor === me) return 'you';
  if (actor === 'anonymous') return 'not signed in';
  if (actor === 'service') return 'a service of the bank';
  return actor;
}

/** ["ADMIN", "TELLER"] → "ADMIN, TELLER"; none → "". */
export const rolesText = (roles: readonly string[]) => roles.join(', ');

/** `OK`, or the error code the action was refused with. */
export const outcomeTone = (outcome: string): 'ok' | 'refused' => (outcome === 'OK' ? 'ok' : 'refused');

/** The entry's place in the chain: "#309", or not sealed yet (within a second or so). */
export const positionText = (position: number | null | undefined) => (position == null ? 'not sealed yet' : `#${position}`);

/** JSON text pretty-printed (two spaces); anything that is not JSON as it came. */
export function prettyJson(text: string | null | undefined): string {
  if (text == null) return '';
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** What an entry's expandable detail is called: "Before and after", "After", "Before", or none. */
export function detailLabel(entry: Pick<AuditEntryLike, 'before' | 'after'>): string | undefined {
  const before = Boolean(entry.before?.trim());
  const after = Boolean(entry.after?.trim());
  if (before && after) return 'Before and after';
  if (after) return 'After';
  if (before) return 'Before';
  return undefined;
}

const ACTION = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$/;

export type ActionFilter = { ok: true; action: string | null } | { ok: false; error: string };

/** The filter as typed: empty is every action; otherwise an action as recorded ("users.login"). */
export function parseActionFilter(text: string): ActionFilter {
  const action = text.trim();
  if (!action) return { ok: true, action: null };
  if (!ACTION.test(action)) {
    return { ok: false, error: 'An action is the service, a dot and the operation, as recorded: users.login, loans.approveLoan.' };
  }
  return { ok: true, action };
}

/** Another page of entries below those shown, each entry once. */
export function appendEntries<T extends { id: string }>(list: readonly T[], page: readonly T[]): T[] {
  const known = new Set(list.map((entry) => entry.id));
  return [...list, ...page.filter((entry) => !known.has(entry.id))];
}

/** The actions among the entries shown, sorted: what the filter suggests. */
export function actionsSeen(lists: Iterable<readonly { action: string }[]>): string[] {
  const seen = new Set<string>();
  for (const list of lists) for (const entry of list) seen.add(entry.action);
  return [...seen].sort();
}

/** What an empty list of entries says. */
export function noEntriesText(action: string | null): string {
  return action ? `No ${action} entries in this trail.` : 'No entries in this trail yet.';
}
