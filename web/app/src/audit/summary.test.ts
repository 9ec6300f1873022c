import { describe, expect, it } from 'vitest';
import {
  AUDIT_SERVICES,
  SERVICE_TITLES,
  actionsSeen,
  actorText,
  appendEntries,
  detailLabel,
  noEntriesText,
  outcomeTone,
  parseActionFilter,
  positionText,
  prettyJson,
  rolesText,
  summariseVerifications,
  trailVerdictText,
  verdictText,
  verificationProblems,
  verifiedText,
  verifies,
  type AuditService,
  type VerificationLike,
} from './summary';

const clean: VerificationLike = { ok: true, sealed: 309, unsealed: 0, problems: [] };

const trails = (changes: Partial<Record<AuditService, VerificationLike>> = {}) =>
  Object.fromEntries(AUDIT_SERVICES.map((service) => [service, { verification: changes[service] ?? clean }])) as Record<
    AuditService,
    { verification: VerificationLike }
  >;

describe('the services', () => {
  it('are the six fields of auditLog, each with a title', () => {
    expect([...AUDIT_SERVICES]).toEqual(['users', 'accounts', 'transactions', 'notifications', 'loans', 'payments']);
    expect(Object.keys(SERVICE_TITLES).sort()).toEqual([...AUDIT_SERVICES].sort());
    expect(new Set(Object.values(SERVICE_TITLES)).size).toBe(AUDIT_SERVICES.length);
  });
});

describe('summariseVerifications', () => {
  it('says every trail verifies when each chain does', () => {
    const summary = summariseVerifications(trails());
    expect(summary).toEqual({ ok: true, failing: [] });
    expect(verdictText(summary)).toBe('Every trail verifies');
  });

  it('names the trails that do not verify, in the page’s order', () => {
    const broken = { ...clean, ok: false, problems: ['entry 12 (position 12) was changed'] };
    const one = summariseVerifications(trails({ loans: broken }));
    expect(one).toEqual({ ok: false, failing: ['loans'] });
    expect(verdictText(one)).toBe('1 trail does not verify: Loans');
    const two = summariseVerifications(trails({ payments: broken, users: { ...clean, ok: false, unsealed: 3 } }));
    expect(two.failing).toEqual(['users', 'payments']);
    expect(verdictText(two)).toBe('2 trails do not verify: Users, Payments');
  });

  it('does not call a chain verified that names a problem', () => {
    const listed = { ...clean, problems: ['a gap after position 40'] };
    expect(verifies(listed)).toBe(false);
    expect(summariseVerifications(trails({ accounts: listed })).failing).toEqual(['accounts']);
    expect(trailVerdictText(listed)).toBe('Does not verify');
    expect(trailVerdictText(clean)).toBe('Verified');
  });
});

describe('verification in words', () => {
  it('says how many entries a verified chain holds', () => {
    expect(verifiedText(clean)).toBe('309 entries in the chain, none changed.');
    expect(verifiedText({ ...clean, sealed: 1 })).toBe('1 entry in the chain, none changed.');
    expect(verifiedText({ ...clean, sealed: 12345 })).toBe('12,345 entries in the chain, none changed.');
    expect(verifiedText({ ...clean, sealed: 0 })).toBe('No entries sealed yet.');
  });

  it('lists the problems, entries left unsealed, or that the service gave no reason', () => {
    expect(verificationProblems(clean)).toEqual([]);
    expect(verificationProblems({ ...clean, ok: false, problems: ['entry 7 (position 7) was changed', ' '], unsealed: 2 })).toEqual([
      'entry 7 (position 7) was changed',
      '2 entries older than a minute are not sealed into the chain.',
    ]);
    expect(verificationProblems({ ...clean, ok: false, unsealed: 1 })).toEqual(['1 entry older than a minute is not sealed into the chain.']);
    expect(verificationProblems({ ...clean, ok: false })).toEqual([
      'The service says its chain does not verify, without naming a problem.',
    ]);
  });
});

describe('entries in the table', () => {
  it('names who acted', () => {
    expect(actorText('01a2-me', '01a2-me')).toBe('you');
    expect(actorText('01a2-other', '01a2-me')).toBe('01a2-other');
    expect(actorText('anonymous', '01a2-me')).toBe('not signed in');
    expect(actorText('service')).toBe('a service of the bank');
    expect(rolesText(['ADMIN', 'TELLER'])).toBe('ADMIN, TELLER');
    expect(rolesText([])).toBe('');
  });

  it('tells what was done from what was refused', () => {
    expect(outcomeTone('OK')).toBe('ok');
    expect(outcomeTone('FORBIDDEN')).toBe('refused');
    expect(outcomeTone('UNAUTHENTICATED')).toBe('refused');
  });

  it('gives the place in the chain, or says it is not sealed yet', () => {
    expect(positionText(309)).toBe('#309');
    expect(positionText(0)).toBe('#0');
    expect(positionText(null)).toBe('not sealed yet');
    expect(positionText(undefined)).toBe('not sealed yet');
  });

  it('pretty-prints the JSON detail, and keeps text that is not JSON', () => {
    expect(prettyJson('{"arguments": {"input": {"email": "a@b.c", "password": "[redacted]"}}}')).toBe(
      '{\n  "arguments": {\n    "input": {\n      "email": "a@b.c",\n      "password": "[redacted]"\n    }\n  }\n}',
    );
    expect(prettyJson('[1,2]')).toBe('[\n  1,\n  2\n]');
    expect(prettyJson('not json {')).toBe('not json {');
    expect(prettyJson(null)).toBe('');
  });

  it('names the detail after what there is', () => {
    expect(detailLabel({ before: '{"status":"PENDING"}', after: '{}' })).toBe('Before and after');
    expect(detailLabel({ before: null, after: '{}' })).toBe('After');
    expect(detailLabel({ before: '{}', after: null })).toBe('Before');
    expect(detailLabel({ before: null, after: ' ' })).toBeUndefined();
  });
});

describe('the action filter', () => {
  it('takes every action when empty, or an action as recorded', () => {
    expect(parseActionFilter('  ')).toEqual({ ok: true, action: null });
    expect(parseActionFilter(' users.login ')).toEqual({ ok: true, action: 'users.login' });
    expect(parseActionFilter('transactions.internal.payment_movement')).toEqual({
      ok: true,
      action: 'transactions.internal.payment_movement',
    });
    expect(parseActionFilter('loans.approveLoan')).toEqual({ ok: true, action: 'loans.approveLoan' });
  });

  it('refuses what cannot be an action', () => {
    for (const text of ['login', 'users login', 'users.', '.login', 'users..login', 'users.log-in']) {
      expect(parseActionFilter(text), text).toEqual({
        ok: false,
        error: 'An action is the service, a dot and the operation, as recorded: users.login, loans.approveLoan.',
      });
    }
  });

  it('suggests the actions among the entries shown', () => {
    expect(actionsSeen([[{ action: 'users.login' }, { action: 'users.register' }], [], [{ action: 'loans.approveLoan' }, { action: 'users.login' }]])).toEqual([
      'loans.approveLoan',
      'users.login',
      'users.register',
    ]);
  });

  it('says what an empty list means', () => {
    expect(noEntriesText(null)).toBe('No entries in this trail yet.');
    expect(noEntriesText('users.login')).toBe('No users.login entries in this trail.');
  });
});

describe('pages of entries', () => {
  it('appends the next page without repeating an entry', () => {
    const a = { id: '3' };
    const b = { id: '2' };
    const c = { id: '1' };
    expect(appendEntries([a, b], [b, c]).map((entry) => entry.id)).toEqual(['3', '2', '1']);
    expect(appendEntries([], [a])).toEqual([a]);
  });
});
