import { describe, expect, it } from 'vitest';
import { addDays, dayOfMonth, formatDate, formatDay, formatMoment, isCalendarDate, ordinal, todayUtc, weekdayOf } from './dates';

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

describe('calendar arithmetic on API dates', () => {
  it('knows a calendar date from other text', () => {
    expect(isCalendarDate('2026-11-25')).toBe(true);
    expect(isCalendarDate('2028-02-29')).toBe(true);
    expect(isCalendarDate('2026-02-29')).toBe(false);
    expect(isCalendarDate('2026-11-31')).toBe(false);
    expect(isCalendarDate('25/11/2026')).toBe(false);
    expect(isCalendarDate('')).toBe(false);
  });

  it('takes today in UTC, the services’ today', () => {
    expect(todayUtc(new Date('2026-11-25T23:30:00-05:00'))).toBe('2026-11-26');
    expect(todayUtc(new Date('2026-11-26T08:00:00+10:00'))).toBe('2026-11-25');
  });

  it('adds days across months and years', () => {
    expect(addDays('2026-11-25', 1)).toBe('2026-11-26');
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(addDays('2026-11-25', 366)).toBe('2027-11-26');
    expect(() => addDays('soon', 1)).toThrow();
  });

  it('names the weekday and the day of the month', () => {
    expect(weekdayOf('2026-11-25')).toBe('Wednesday');
    expect(weekdayOf('2027-01-03')).toBe('Sunday');
    expect(weekdayOf('never')).toBeUndefined();
    expect(dayOfMonth('2026-11-05')).toBe(5);
    expect([1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31].map(ordinal)).toEqual(
      ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '22nd', '23rd', '31st'],
    );
  });
});
