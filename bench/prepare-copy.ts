/**
 * `COPY table (columns) FROM STDIN` through the pg driver alone: pg-copy-streams is not a
 * dependency, and COPY is PostgreSQL's fastest way in by far (no statement per batch, no
 * parameters, no planning). The query object below is what pg's Client accepts as a
 * "submittable": the client hands it the connection when it is its turn, and forwards the
 * server's CopyInResponse, CommandComplete, ErrorResponse and ReadyForQuery to it.
 */
import type { Knex } from 'knex';

/** A text-format COPY field: NULL as \N; backslash, tab, newline and CR escaped. */
export function copyField(value: string | number | null): string {
  if (value === null) return '\\N';
  const text = String(value);
  return /[\\\t\n\r]/.test(text)
    ? text.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r')
    : text;
}

interface PgConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
}

/** Chunks of about this many bytes go to the socket in one CopyData message. */
const CHUNK_BYTES = 1 << 20;

class CopyIn {
  private error: Error | undefined;
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
      let buffer: string[] = [];
      let size = 0;
      for (const line of this.lines) {
        buffer.push(line);
        size += line.length + 1;
        if (size >= CHUNK_BYTES) {
          connection.sendCopyFromChunk(Buffer.from(`${buffer.join('\n')}\n`));
          buffer = [];
          size = 0;
        }
      }
      if (buffer.length > 0) connection.sendCopyFromChunk(Buffer.from(`${buffer.join('\n')}\n`));
      connection.endCopyFrom();
    } catch (error) {
      this.error = error as Error;
      connection.sendCopyFail('the rows could not be generated');
    }
  }

  handleCommandComplete(message: { text?: string }): void {
    this.rowCount = Number(/COPY (\d+)/.exec(message.text ?? '')?.[1] ?? 0);
  }

  handleError(error: Error): void {
    this.error ??= error;
  }

  handleReadyForQuery(): void {
    this.done(this.error, this.rowCount);
  }

  // Not sent for COPY FROM; present because the client calls them on any active query.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handleCopyData(): void {}
  handlePortalSuspended(): void {}
}

/**
 * Writes one line per row (fields already joined by tabs, see {@link copyField}) with COPY on
 * one pooled connection; returns the rows the server says it stored. The lines are produced
 * lazily, but the whole COPY is written before the server's answer is read: the socket buffers.
 */
export async function copyInto(db: Knex, table: string, columns: string[], lines: Iterable<string>): Promise<number> {
  const conn = (await db.client.acquireConnection()) as { query(q: unknown): void };
  try {
    const list = columns.map((c) => `"${c}"`).join(', ');
    return await new Promise<number>((resolve, reject) => {
      const query = new CopyIn(`COPY "${table}" (${list}) FROM STDIN`, lines, (error, rows) =>
        error ? reject(error) : resolve(rows),
      );
      conn.query(query);
    });
  } finally {
    await db.client.releaseConnection(conn);
  }
}
