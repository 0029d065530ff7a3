/**
 * String similarity for fuzzy identity rules: Jaro-Winkler and a phonetic code. Pure: no I/O.
 * Both compare what they are given; callers pass normalized text (see normalizeTextKey).
 */
import { normalizeTextKey } from './normalizers';

/** Winkler's prefix scale: each shared leading character closes 10% of the remaining gap. */
const PREFIX_SCALE = 0.1;
const MAX_PREFIX = 4;
// Winkler boosts only pairs already similar (Jaro above 0.7), as in his strcmp95 and in Apache
// Commons Text, so a shared first letter cannot lift two unrelated names over a threshold.
const BOOST_THRESHOLD = 0.7;

/**
 * Jaro-Winkler similarity in [0, 1] (1 = identical), with prefix scale 0.1 over at most 4
 * characters. Compares Unicode code points, case-sensitively. MARTHA/MARHTA = 0.961,
 * DWAYNE/DUANE = 0.840, DIXON/DICKSONX = 0.813. An empty string is similar to nothing but itself.
 */
export function jaroWinkler(a: string, b: string): number {
  if (a === b) return 1;
  const left = Array.from(a);
  const right = Array.from(b);
  const jaro = jaroOf(left, right);
  if (jaro <= BOOST_THRESHOLD) return jaro;

  let prefix = 0;
  const limit = Math.min(MAX_PREFIX, left.length, right.length);
  while (prefix < limit && left[prefix] === right[prefix]) prefix++;
  return jaro + prefix * PREFIX_SCALE * (1 - jaro);
}

function jaroOf(left: string[], right: string[]): number {
  if (left.length === 0 || right.length === 0) return 0;
  // Characters match when equal and no further apart than half the longer string, less one.
  const window = Math.max(0, Math.floor(Math.max(left.length, right.length) / 2) - 1);
  const rightUsed = new Array<boolean>(right.length).fill(false);
  const leftMatches: string[] = [];
  const leftIndexes: number[] = [];
  for (let i = 0; i < left.length; i++) {
    const end = Math.min(right.length - 1, i + window);
    for (let j = Math.max(0, i - window); j <= end; j++) {
      if (!rightUsed[j] && left[i] === right[j]) {
        rightUsed[j] = true;
        leftMatches.push(left[i]!);
        leftIndexes.push(i);
        break;
      }
    }
  }
  const m = leftMatches.length;
  if (m === 0) return 0;

  // Half the matched characters that appear in a different order are transpositions.
  let k = 0;
  let outOfOrder = 0;
  for (let j = 0; j < right.length; j++) {
    if (!rightUsed[j]) continue;
    if (leftMatches[k] !== right[j]) outOfOrder++;
    k++;
  }
  const t = outOfOrder / 2;
  return (m / left.length + m / right.length + (m - t) / m) / 3;
}

/**
 * Phonetic code of a name, by the Kölner Phonetik (Postel, 1969), after stripping accents: names
 * that sound alike get one string of digits, e.g. Meyer, Mayer, Maier → "67", Schmidt,
 * Schmitt → "862", Christophe, Kristof → "47823", Philippe, Filip → "351". Empty when the name
 * has no letters.
 *
 * Why this code: no maintained CommonJS package offers a phonetic algorithm for European names
 * (the npm ones are English-only Soundex/Metaphone, ESM-only, or unmaintained), and Double
 * Metaphone or Beider-Morse would be a thousand lines of rules. Unlike Soundex, the Kölner
 * Phonetik codes the first letter like any other, so C/K, Ph/F and V/W/F spellings agree
 * (Catherine = Katherine, Philippe = Filippe), and it drops vowels, so Meyer/Maier and
 * Mathieu/Matthieu agree. Limits: its rules come from German spelling, so French silent endings
 * (Renaud/Reno), Italian "gli" or Polish "sz"/"cz" are coded letter by letter; letters outside
 * the Latin alphabet are ignored. Use it together with other columns, never alone.
 */
export function phoneticCode(name: string): string {
  const letters = (normalizeTextKey(name) ?? '').toUpperCase().replace(/[^A-Z]/g, '');
  let raw = '';
  for (let i = 0; i < letters.length; i++) {
    raw += codeOf(letters[i - 1], letters[i]!, letters[i + 1], i === 0);
  }
  let collapsed = '';
  for (const digit of raw) {
    if (digit !== collapsed[collapsed.length - 1]) collapsed += digit;
  }
  // Vowels (0) only separate repeats; they are kept as the first code only.
  return collapsed.slice(0, 1) + collapsed.slice(1).replace(/0/g, '');
}

const VOWELS = 'AEIJOUY';

function codeOf(prev: string | undefined, c: string, next: string | undefined, first: boolean) {
  const before = (set: string) => next !== undefined && set.includes(next);
  const after = (set: string) => prev !== undefined && set.includes(prev);
  if (VOWELS.includes(c)) return '0';
  switch (c) {
    case 'H':
      return '';
    case 'B':
      return '1';
    case 'P':
      return before('H') ? '3' : '1';
    case 'D':
    case 'T':
      return before('CSZ') ? '8' : '2';
    case 'F':
    case 'V':
    case 'W':
      return '3';
    case 'G':
    case 'K':
    case 'Q':
      return '4';
    case 'C':
      if (first) return before('AHKLOQRUX') ? '4' : '8';
      return before('AHKOQUX') && !after('SZ') ? '4' : '8';
    case 'X':
      return after('CKQ') ? '8' : '48';
    case 'L':
      return '5';
    case 'M':
    case 'N':
      return '6';
    case 'R':
      return '7';
    default:
      return '8';
  }
}
