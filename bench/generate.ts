/**
 * Deterministic customer records for the speed bench: people with an email, a phone and a
 * customer id, some of whom appear several times with typos and placeholders. Pure: no I/O.
 *
 * Every person and every record draws from its own seeded generator, so record i is the same
 * whatever else is asked for, and a batch of changes can be made without keeping the records.
 * Each record also carries `links`: the canonical values that must join it to others, worked
 * out here from what was generated rather than by the engine's normalizers, so a test can
 * check the engine against an independent union-find.
 */

/** Header of the generated file, in column order. */
export const BENCH_COLUMNS = [
  'customer_id',
  'email',
  'phone',
  'first_name',
  'last_name',
  'city',
] as const;

/** One generated source record. */
export interface BenchRecord {
  /** Record key in the source: `r<index>`. */
  key: string;
  /** The true person: records of one person have the same number. */
  person: number;
  values: Record<(typeof BENCH_COLUMNS)[number], string>;
  /** Canonical values that link records (`email:…`, `phone:+33…`, `id:…`); none if blank. */
  links: string[];
}

// 30% of people have 2–4 records (the rest one): 1.9 records per person on average for those.
const DUPLICATED_SHARE = 0.3;
// Each record carries a key with these odds, so some duplicates share nothing and stay apart.
const HAS_EMAIL = 0.8;
const HAS_PHONE = 0.6;
const HAS_CUSTOMER_ID = 0.45;
// Typos: a misspelt mail domain (a distinct, still valid address) and a phone missing its last
// digit (no longer a valid number). Placeholders are values the engine must never link on.
const EMAIL_TYPO = 0.04;
const PHONE_TYPO = 0.04;
const PLACEHOLDER = 0.02;

const FIRST = [
  'Julia',
  'Hugo',
  'Lea',
  'Louis',
  'Chloe',
  'Gabriel',
  'Emma',
  'Arthur',
  'Ines',
  'Jules',
  'Manon',
  'Adam',
  'Camille',
  'Lucas',
  'Sarah',
  'Nathan',
  'Zoe',
  'Oliver',
  'Amelia',
  'Noah',
  'Ava',
  'Leo',
];
const LAST = [
  'Martin',
  'Bernard',
  'Dubois',
  'Thomas',
  'Robert',
  'Richard',
  'Petit',
  'Durand',
  'Leroy',
  'Moreau',
  'Simon',
  'Laurent',
  'Smith',
  'Jones',
  'Taylor',
  'Brown',
  'Wilson',
  'Evans',
  'Walker',
];
const CITIES = ['Paris', 'Lyon', 'Marseille', 'Lille', 'Nantes', 'London', 'Leeds', 'Bristol'];
const DOMAINS = ['gmail.com', 'yahoo.fr', 'orange.fr', 'hotmail.com', 'free.fr', 'outlook.com'];
const DOMAIN_TYPOS: Record<string, string> = {
  'gmail.com': 'gmial.com',
  'yahoo.fr': 'yaho.fr',
  'orange.fr': 'ornage.fr',
  'hotmail.com': 'hotmial.com',
  'free.fr': 'fre.fr',
  'outlook.com': 'outlok.com',
};
const EMAIL_PLACEHOLDERS = ['test@test.com', 'noemail@gmail.com', 'n/a', 'none@none.com'];
const PHONE_PLACEHOLDERS = ['0000000000', '0123456789', '06 66 66 66 66'];
const ID_PLACEHOLDERS = ['0', '000000', 'N/A', 'unknown'];
// Second digits of French mobile numbers (06…) that the numbering plan assigns whole: 063 and 069
// are only partly assigned, so they are left out and every generated number is valid.
const MOBILE_SECOND = ['0', '1', '2', '4', '5', '6', '7', '8'];

/** A small, fast seeded generator (mulberry32): uniform floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes numbers into one 32-bit seed, so each person and record has its own stream. */
function mix(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    h = Math.imul(h ^ (part & 0xffff), 0x01000193);
    h = Math.imul(h ^ (part >>> 16), 0x01000193);
  }
  return h >>> 0;
}

interface Person {
  first: string;
  last: string;
  city: string;
  email: string;
  /** National significant number, 9 digits starting with 6. */
  phone: string;
  customerId: string;
  records: number;
}

function person(seed: number, p: number): Person {
  const random = seededRandom(mix(seed, 1, p));
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const first = pick(FIRST);
  const last = pick(LAST);
  // p in base 36 makes the address unique to the person; a typo only touches the domain, so
  // two people never end up sharing an address.
  const email = `${first}.${last}.${p.toString(36)}@${pick(DOMAINS)}`.toLowerCase();
  // 48271 is prime and divides neither 2 nor 5, so p ↦ p·48271 mod 8·10^7 is one-to-one.
  const x = (p * 48271) % 80_000_000;
  const phone = `6${MOBILE_SECOND[x % 8]}${String(Math.floor(x / 8)).padStart(7, '0')}`;
  const customerId = String(10_000_000 + ((p * 7919) % 89_999_999));
  const duplicated = random() < DUPLICATED_SHARE;
  const records = duplicated ? 2 + Math.floor(random() * 3) : 1;
  return { first, last, city: pick(CITIES), email, phone, customerId, records };
}

/** One record of a person; `variant` picks its own stream (initial records and changes differ). */
function record(
  seed: number,
  index: number,
  p: number,
  owner: Person,
  variant: number,
): BenchRecord {
  const random = seededRandom(mix(seed, 2, index, variant));
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const links: string[] = [];

  let email = '';
  if (random() < PLACEHOLDER) email = pick(EMAIL_PLACEHOLDERS);
  else if (random() < HAS_EMAIL) {
    const [local, domain] = owner.email.split('@') as [string, string];
    const typo = random() < EMAIL_TYPO;
    const canonical = `${local}@${typo ? DOMAIN_TYPOS[domain] : domain}`;
    links.push(`email:${canonical}`);
    email = random() < 0.2 ? ` ${canonical.replace(/^./, (c) => c.toUpperCase())}` : canonical;
  }

  let phone = '';
  if (random() < PLACEHOLDER) phone = pick(PHONE_PLACEHOLDERS);
  else if (random() < HAS_PHONE) {
    const digits = random() < PHONE_TYPO ? owner.phone.slice(0, -1) : owner.phone;
    if (digits.length === 9 && !isDigitRun(digits)) links.push(`phone:+33${digits}`);
    phone = formatPhone(digits, random());
  }

  let customerId = '';
  if (random() < PLACEHOLDER) customerId = pick(ID_PLACEHOLDERS);
  else if (random() < HAS_CUSTOMER_ID) {
    customerId = owner.customerId;
    links.push(`id:${customerId}`);
  }

  const values = {
    customer_id: customerId,
    email,
    phone,
    first_name: owner.first,
    last_name: owner.last,
    city: owner.city,
  };
  return { key: `r${index}`, person: p, values, links };
}

/** French ways of writing one number: national, spaced, international, with 00. */
function formatPhone(digits: string, draw: number): string {
  const pairs = digits
    .slice(1)
    .match(/.{1,2}/g)!
    .join(' ');
  if (draw < 0.4) return `0${digits}`;
  if (draw < 0.7) return `0${digits[0]} ${pairs}`;
  if (draw < 0.9) return `+33 ${digits[0]} ${pairs}`;
  return `0033${digits}`;
}

/** Nine digits counting up or down by one (with 9 → 0 wrapping): a placeholder, never a link. */
function isDigitRun(digits: string): boolean {
  const steps = (step: number) =>
    [...digits].every((d, i) => i === 0 || (Number(digits[i - 1]) + step) % 10 === Number(d));
  return steps(1) || steps(9);
}

/** The first `count` records, person by person (a person's records are adjacent). */
export function* generateRecords(count: number, seed: number): Generator<BenchRecord> {
  let index = 0;
  for (let p = 0; index < count; p++) {
    const owner = person(seed, p);
    for (let r = 0; r < owner.records && index < count; r++, index++) {
      yield record(seed, index, p, owner, 0);
    }
  }
}

/** What {@link generateChanges} produces, beside the records. */
export interface ChangeBatch {
  /** Changed versions of existing records (same keys), then new records. */
  records: BenchRecord[];
  updated: number;
  added: number;
}

/**
 * A batch of `size` changes to the first `count` records: 30% rewrite an existing record (a new
 * draw of its person's record, and for one in ten a new email address, which can split a golden
 * record), 40% are new records of existing people (which can merge golden records), and 30% are
 * new people. Deterministic for (count, size, seed).
 */
export function generateChanges(count: number, size: number, seed: number): ChangeBatch {
  const personOf = new Int32Array(count);
  let persons = 0;
  for (let index = 0; index < count; persons++) {
    const records = person(seed, persons).records;
    for (let r = 0; r < records && index < count; r++) personOf[index++] = persons;
  }

  const random = seededRandom(mix(seed, 3, count, size));
  const updates = Math.min(Math.round(size * 0.3), count);
  const known = Math.round(size * 0.4);
  const out: BenchRecord[] = [];
  const touched = new Set<number>();
  while (touched.size < updates) {
    const index = Math.floor(random() * count);
    if (touched.has(index)) continue;
    touched.add(index);
    const p = personOf[index]!;
    const owner = person(seed, p);
    const changed = record(seed, index, p, owner, 1);
    if (random() < 0.1) out.push(withNewEmail(changed, seed, index));
    else out.push(changed);
  }
  for (let k = 0; k < known; k++) {
    const p = personOf[Math.floor(random() * count)]!;
    out.push(record(seed, count + out.length, p, person(seed, p), 1));
  }
  for (let p = persons; out.length < size; p++) {
    const owner = person(seed, p);
    for (let r = 0; r < owner.records && out.length < size; r++) {
      out.push(record(seed, count + out.length, p, owner, 1));
    }
  }
  return { records: out, updated: updates, added: out.length - updates };
}

function withNewEmail(changed: BenchRecord, seed: number, index: number): BenchRecord {
  const email = `moved.${index.toString(36)}.${seed}@proton.me`;
  const links = [...changed.links.filter((l) => !l.startsWith('email:')), `email:${email}`];
  return { ...changed, values: { ...changed.values, email }, links };
}
