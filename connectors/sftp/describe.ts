import { readFileRecords, type FileFormatOptions } from '../files/file-records';
import { guessColumnTypes, type GuessedColumn } from '../files/type-guess';
import type { FileNameMatcher } from './file-names';
import { SftpSource, type RemoteFile, type SftpConnectionOptions } from './source';

/** Records read from the sampled file; enough to see every column's shape, cheap on big files. */
export const DEFAULT_SAMPLE_RECORDS = 1000;

export interface DescribeSftpOptions {
  connection: SftpConnectionOptions;
  directory: string;
  names: FileNameMatcher;
  format: FileFormatOptions;
  numberLocale?: string;
  sampleRecords?: number;
}

/** What `braid source describe` shows for a file source. */
export interface SftpDescription {
  /** The sampled file; undefined when no file matches yet. */
  file?: RemoteFile;
  sampled: number;
  rejected: number;
  columns: GuessedColumn[];
}

/**
 * Samples the newest matching file (the latest date in its name, else the latest mtime) and
 * guesses each column's type from its first records. Reads only the sample, then closes the
 * stream; never changes anything on the server.
 */
export async function describeSftpSource(opts: DescribeSftpOptions): Promise<SftpDescription> {
  const sftp = new SftpSource(opts.connection, { directory: opts.directory, names: opts.names });
  await sftp.connect();
  try {
    const file = newest(await sftp.listMatching());
    if (file === undefined) return { sampled: 0, rejected: 0, columns: [] };

    const limit = opts.sampleRecords ?? DEFAULT_SAMPLE_RECORDS;
    const rows: Record<string, string>[] = [];
    const columns = new Set<string>();
    let rejected = 0;
    for await (const record of readFileRecords(
      sftp.openReadStream(file.name),
      opts.format,
      file.name,
    )) {
      if (record.kind === 'reject') rejected += 1;
      else {
        rows.push(record.values);
        for (const name of Object.keys(record.values)) columns.add(name);
      }
      if (rows.length + rejected >= limit) break;
    }
    const guessed = guessColumnTypes([...columns], rows, opts.numberLocale);
    return { file, sampled: rows.length, rejected, columns: guessed };
  } finally {
    await sftp.end();
  }
}

function newest(files: RemoteFile[]): RemoteFile | undefined {
  // listMatching returns import order, so for dated names the last one is the newest.
  if (files.some((f) => f.fileDate !== undefined)) return files.at(-1);
  return files.reduce<RemoteFile | undefined>(
    (best, f) => (best === undefined || f.modifiedAtMs >= best.modifiedAtMs ? f : best),
    undefined,
  );
}
