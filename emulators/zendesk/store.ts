/** The three objects the emulator exports, each with Zendesk's own record shape. */
export type ZendeskObject = 'tickets' | 'users' | 'organizations';

/** A record as Zendesk sends it; only `id` and `updated_at` (ISO 8601, UTC) are required. */
export type ZendeskRecord = { id: number; updated_at: string; [field: string]: unknown };

/** Where a cursor export stands: after the record with this update time and id. */
type Position = { updatedMs: number; id: number };

/** One page of an export, before it is shaped into a response body. */
export type ExportSlice = { records: ZendeskRecord[]; last: Position; more: boolean };

// Cursor tokens look like Zendesk's opaque ones but stay short and predictable for tests.
const CURSOR_PREFIX: Record<ZendeskObject, string> = {
  users: 'u',
  tickets: 't',
  organizations: 'o',
};

/**
 * In-memory records per object, kept in export order (update time, then id), plus the cursor
 * tokens handed out so far. The same position always gets the same token.
 */
export class RecordStore {
  private readonly records = new Map<ZendeskObject, Map<number, ZendeskRecord>>();
  private readonly tokens = new Map<string, string>();
  private readonly positions = new Map<string, { object: ZendeskObject; at: Position }>();
  private readonly minted = new Map<ZendeskObject, number>();

  /** Adds records or replaces those with the same id. Throws on a bad `updated_at`. */
  put(object: ZendeskObject, records: ZendeskRecord[]): void {
    let table = this.records.get(object);
    if (table === undefined) {
      table = new Map();
      this.records.set(object, table);
    }
    for (const record of records) {
      if (Number.isNaN(Date.parse(record.updated_at))) {
        throw new RangeError(`${object} ${record.id}: updated_at is not a timestamp`);
      }
      table.set(record.id, structuredClone(record));
    }
  }

  /** Records updated at or after `startSec`, from the start of that second. */
  fromStartTime(object: ZendeskObject, startSec: number, size: number): ExportSlice {
    return this.after(object, { updatedMs: startSec * 1000, id: -1 }, size);
  }

  /** Records strictly after a cursor position. */
  after(object: ZendeskObject, at: Position, size: number): ExportSlice {
    const rest = this.sorted(object).filter(
      (r) => msOf(r) > at.updatedMs || (msOf(r) === at.updatedMs && r.id > at.id),
    );
    const records = rest.slice(0, size);
    const lastRecord = records[records.length - 1];
    const last = lastRecord === undefined ? at : { updatedMs: msOf(lastRecord), id: lastRecord.id };
    return { records, last, more: rest.length > records.length };
  }

  /**
   * Time-based export page: like Zendesk, a page never splits one second's records, so it may
   * hold more than `size` of them; the next page starts again at the last record's second. A
   * page that would end in its own start second also takes the next second, so paging by
   * `end_time` always moves on.
   */
  timePage(object: ZendeskObject, startSec: number, size: number): ExportSlice {
    const rest = this.sorted(object).filter((r) => msOf(r) >= startSec * 1000);
    let end = wholeSeconds(rest, Math.min(size, rest.length));
    if (end > 0 && end < rest.length && secondOf(rest[end - 1]!) === startSec) {
      end = wholeSeconds(rest, end + 1);
    }
    const records = rest.slice(0, end);
    const lastRecord = records[records.length - 1];
    const last =
      lastRecord === undefined
        ? { updatedMs: startSec * 1000, id: -1 }
        : { updatedMs: msOf(lastRecord), id: lastRecord.id };
    return { records, last, more: rest.length > end };
  }

  /** The token for a position, minting `u1`, `u2`... for new positions. */
  tokenFor(object: ZendeskObject, at: Position): string {
    const key = `${object}:${at.updatedMs}:${at.id}`;
    let token = this.tokens.get(key);
    if (token === undefined) {
      const count = (this.minted.get(object) ?? 0) + 1;
      this.minted.set(object, count);
      token = `${CURSOR_PREFIX[object]}${count}`;
      this.tokens.set(key, token);
      this.positions.set(token, { object, at });
    }
    return token;
  }

  /** The position a token stands for, or undefined when it was not issued for this object. */
  positionOf(object: ZendeskObject, token: string): Position | undefined {
    const found = this.positions.get(token);
    return found?.object === object ? found.at : undefined;
  }

  private sorted(object: ZendeskObject): ZendeskRecord[] {
    const table = this.records.get(object);
    if (table === undefined) return [];
    return [...table.values()]
      .sort((a, b) => msOf(a) - msOf(b) || a.id - b.id)
      .map((record) => structuredClone(record));
  }
}

function msOf(record: ZendeskRecord): number {
  return Date.parse(record.updated_at);
}

/** Moves a page end forward so that it does not split the records of one second. */
function wholeSeconds(sorted: ZendeskRecord[], end: number): number {
  if (end === 0) return 0;
  const lastSecond = secondOf(sorted[end - 1]!);
  let out = end;
  while (out < sorted.length && secondOf(sorted[out]!) === lastSecond) out += 1;
  return out;
}

function secondOf(record: ZendeskRecord): number {
  return Math.floor(msOf(record) / 1000);
}
