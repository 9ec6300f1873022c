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
