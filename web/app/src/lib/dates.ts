/**
 * Calendar dates as the API sends them ("2026-12-24", the `Date` scalar): shown as written,
 * without passing through a time zone, so a due date never moves a day.
 */
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "2026-12-24" → "24 Dec 2026"; anything else as it came. */
export function formatDate(date: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date.trim());
  const month = match ? MONTHS[Number(match[2]) - 1] : undefined;
  if (!match || !month) return date;
  return `${Number(match[3])} ${month} ${match[1]}`;
}

/** A moment (`DateTime`) for people, in their own time zone. */
export function formatMoment(moment: string): string {
  const parsed = new Date(moment);
  return Number.isNaN(parsed.getTime()) ? moment : parsed.toLocaleString();
}

/** The day of a moment (`DateTime`) in the person's own time zone: "25 Nov 2026". */
export function formatDay(moment: string): string {
  const parsed = new Date(moment);
  if (Number.isNaN(parsed.getTime())) return moment;
  return `${parsed.getDate()} ${MONTHS[parsed.getMonth()]} ${parsed.getFullYear()}`;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The parts of a calendar date ("2026-02-29" is none: 2026 is no leap year), or undefined. */
function dateParts(date: string): { year: number; month: number; day: number } | undefined {
  const match = ISO_DATE.exec(date);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return undefined;
  return { year, month, day };
}

/** Whether the text is a calendar date as the API writes it ("2026-12-24"). */
export const isCalendarDate = (date: string) => dateParts(date) !== undefined;

/** Today's date in UTC ("2026-11-25"): the services' today, whatever the person's time zone. */
export function todayUtc(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/** A calendar date `days` later (or earlier, when negative): "2026-12-31" + 1 → "2027-01-01". */
export function addDays(date: string, days: number): string {
  const parts = dateParts(date);
  if (!parts) throw new Error(`not a calendar date: ${date}`);
  return new Date(Date.UTC(parts.year, parts.month - 1, parts.day + days)).toISOString().slice(0, 10);
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** The day of the week of a calendar date: "2026-11-25" → "Wednesday"; undefined for other text. */
export function weekdayOf(date: string): string | undefined {
  const parts = dateParts(date);
  return parts ? WEEKDAYS[new Date(Date.UTC(parts.year, parts.month - 1, parts.day)).getUTCDay()] : undefined;
}

/** The day of the month of a calendar date ("2026-11-25" → 25), or undefined. */
export const dayOfMonth = (date: string) => dateParts(date)?.day;

/** 1 → "1st", 2 → "2nd", 11 → "11th", 22 → "22nd". */
export function ordinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${{ 1: 'st', 2: 'nd', 3: 'rd' }[n % 10] ?? 'th'}`;
}
