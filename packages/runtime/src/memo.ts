/**
 * A function of a text key, remembered, for values that recur request after request (a browser's
 * `Accept-Encoding`, a share page's URLs): at most `maxEntries` keys of at most `maxKeyLength` characters, so a
 * client sending endless different values costs bounded memory; a longer key is computed every time, and when
 * the memory is full it starts over.
 */
export function memoByText<T>(
  compute: (key: string) => T,
  { maxEntries, maxKeyLength }: { maxEntries: number; maxKeyLength: number },
): (key: string) => T {
  const memory = new Map<string, T>();
  return (key) => {
    if (key.length > maxKeyLength) return compute(key);
    let value = memory.get(key);
    if (value === undefined && !memory.has(key)) {
      value = compute(key);
      if (memory.size >= maxEntries) memory.clear();
      memory.set(key, value);
    }
    return value as T;
  };
}
