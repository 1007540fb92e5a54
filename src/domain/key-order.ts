/**
 * Orders keys as their UTF-8 bytes sort (the store's order), without encoding them: that is
 * code point order, which differs from JavaScript's UTF-16 `<` only where a surrogate pair
 * meets a character from U+E000 to U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return rank(x) - rank(y);
  }
  return a.length - b.length;
}

/** Surrogates go above U+E000..U+FFFF, as the code points they encode do. */
const rank = (unit: number): number => (unit >= 0xd800 && unit <= 0xdfff ? unit + 0x2000 : unit >= 0xe000 ? unit - 0x800 : unit);
