import { describe, expect, it } from 'vitest';
import { formatDate, formatDay, formatMoment } from './dates';

describe('formatDate', () => {
  it('shows a calendar date as written, whatever the time zone', () => {
    expect(formatDate('2026-12-24')).toBe('24 Dec 2026');
    expect(formatDate('2027-01-01')).toBe('1 Jan 2027');
    expect(formatDate('2026-02-28')).toBe('28 Feb 2026');
  });

  it('leaves what it does not understand alone', () => {
    expect(formatDate('2026-13-01')).toBe('2026-13-01');
    expect(formatDate('soon')).toBe('soon');
  });
});

describe('formatMoment', () => {
  it('falls back to the text for an invalid moment', () => {
    expect(formatMoment('never')).toBe('never');
    expect(formatMoment('2026-11-25T10:00:00Z')).not.toBe('2026-11-25T10:00:00Z');
  });
});

describe('formatDay', () => {
  it('shows the day of a moment in the local time zone, like a calendar date', () => {
    expect(formatDay(new Date(2026, 10, 25, 12, 30).toISOString())).toBe('25 Nov 2026');
    expect(formatDay(new Date(2027, 0, 1, 0, 5).toISOString())).toBe('1 Jan 2027');
    expect(formatDay('never')).toBe('never');
  });
});
