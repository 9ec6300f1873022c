/** Another page of a list (Load more) below what is there, each item once. */
export function appendById<T extends { id: string }>(list: readonly T[], page: readonly T[]): T[] {
  const known = new Set(list.map((item) => item.id));
  return [...list, ...page.filter((item) => !known.has(item.id))];
}
