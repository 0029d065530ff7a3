/**
 * PostgreSQL only: `COPY table (columns) FROM STDIN` through the pg driver alone, for bulk writes
 * (the identity rebuild's index rows, golden records and memberships; the bench's data setup).
 * pg-copy-streams is not a dependency, and COPY is PostgreSQL's fastest way in by far: no
 * statement per batch, no parameters to bind, no plan. The query object below is what pg's
 * Client accepts as a "submittable": the client hands it the connection when it is its turn,
 * and forwards the server's CopyInResponse, CommandComplete, ErrorResponse and ReadyForQuery.
 *
 * On a knex transaction, `acquireConnection` returns the transaction's own connection (knex
 * makeTxClient) and releasing it does nothing, so COPYed rows commit or roll back with
 * everything else the transaction wrote; outside one, a pooled connection is taken and given
 * back.
 */
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

/** One row's values, in the order of the columns the COPY was made for. */
export type CopyRow = ReadonlyArray<string | number | null>;

/**
 * A text-format COPY field: null (and a number that is not finite, as store/bulk.ts's arrays
 * have it) as \N; backslash, tab, newline and carriage return escaped, so no value can end its
 * field or row early, and a value that reads `\N` or `\.` stays text.
 */
export function copyField(value: string | number | null): string {
  // Numbers first: most fields of the bulk writes are, and none needs escaping.
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '\\N';
  if (value === null) return '\\N';
  // Anything else its type does not allow is written as its text, as before.
  const text = typeof value === 'string' ? value : String(value);
  return NEEDS_ESCAPE.test(text)
    ? text.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r')
    : text;
}

/** What a text-format COPY field may not hold as it is. */
const NEEDS_ESCAPE = /[\\\t\n\r]/;

/** One COPY line (without its newline) of the given values. */
export function copyLine(row: CopyRow): string {
  let line = copyField(row[0] ?? null);
  for (let i = 1; i < row.length; i++) line += '\t' + copyField(row[i] ?? null);
  return line;
}

interface PgConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
}

/** Chunks of about this many characters go to the socket in one CopyData message. */
const CHUNK_CHARS = 1 << 20;

class CopyIn {
  private error: Error | undefined;
  private finished = false;
  rowCount = 0;

  constructor(
    readonly text: string,
    private readonly lines: Iterable<string>,
    private readonly done: (error: Error | undefined, rows: number) => void,
  ) {}

  submit(connection: PgConnection): void {
    connection.query(this.text);
  }

  handleCopyInResponse(connection: PgConnection): void {
    try {
      let buffer = '';
      for (const line of this.lines) {
        buffer += line + '\n';
        if (buffer.length >= CHUNK_CHARS) {
          connection.sendCopyFromChunk(Buffer.from(buffer));
          buffer = '';
        }
      }
      if (buffer.length > 0) connection.sendCopyFromChunk(Buffer.from(buffer));
      connection.endCopyFrom();
    } catch (error) {
      this.error = error as Error;
      connection.sendCopyFail('the rows could not be generated');
    }
  }

  handleCommandComplete(message: { text?: string }): void {
    this.rowCount = Number(/COPY (\d+)/.exec(message.text ?? '')?.[1] ?? 0);
  }

  /**
   * pg's client forgets the active query when the server reports an error, so no
   * ReadyForQuery reaches it afterwards: the COPY ends here (the client still waits for
   * ReadyForQuery before it sends the next query). Waiting for it hung forever. The error of
   * rows that could not be generated comes first.
   */
  handleError(error: Error): void {
    this.finish(this.error ?? error);
  }

  handleReadyForQuery(): void {
    this.finish(this.error);
  }

  private finish(error: Error | undefined): void {
    if (this.finished) return;
    this.finished = true;
    this.done(error, this.rowCount);
  }

  // Not sent for COPY FROM; present because the client calls them on any active query.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handleCopyData(): void {}
  handlePortalSuspended(): void {}
}

/**
 * Writes one line per row (fields already joined by tabs, see {@link copyLine}) with COPY;
 * returns the rows the server says it stored. The lines are produced lazily, but the whole COPY
 * is written before the server's answer is read (the socket buffers it), so callers pass a
 * bounded batch. A failed COPY rejects with the server's error; inside a transaction that
 * error aborts the transaction, as any failed statement does.
 */
export async function copyInto(
  db: Db,
  table: string,
  columns: readonly string[],
  lines: Iterable<string>,
): Promise<number> {
  if (db.client.config.client !== 'pg') {
    throw new Error(`copy into ${table}: COPY is PostgreSQL only`);
  }
  if (isTransaction(db) && db.isCompleted()) {
    throw new Error(`copy into ${table}: the transaction is already complete`);
  }
  const connection = (await db.client.acquireConnection()) as { query(q: unknown): void };
  try {
    const list = columns.map((c) => `"${c}"`).join(', ');
    return await new Promise<number>((resolve, reject) => {
      // The server's own error is passed on as it is: its message names the table's constraint
      // or column, and its code (e.g. 23505) is what callers test.
      const query = new CopyIn(`COPY "${table}" (${list}) FROM STDIN`, lines, (error, rows) =>
        error ? reject(error) : resolve(rows),
      );
      connection.query(query);
    });
  } finally {
    await db.client.releaseConnection(connection);
  }
}

/** {@link copyInto} for rows of values, each formatted as it is sent. */
export function copyRows(
  db: Db,
  table: string,
  columns: readonly string[],
  rows: Iterable<CopyRow>,
): Promise<number> {
  return copyInto(db, table, columns, mapLines(rows));
}

function* mapLines(rows: Iterable<CopyRow>): Iterable<string> {
  for (const row of rows) yield copyLine(row);
}

function isTransaction(db: Db): db is Knex.Transaction {
  return (db as Knex.Transaction).isTransaction === true;
}
