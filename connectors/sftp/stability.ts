/**
 * When a listed file may be imported (BL-06). SFTP gives no "upload complete" signal, so a file
 * is imported only after two listings at least the stability window apart saw the same size and
 * modification time. The first of those listings is remembered (`seenSinceMs`) in the database,
 * so the window holds across runs and worker restarts.
 */

/** A file as the current listing shows it. */
export interface ListedVersion {
  sizeBytes: number;
  modifiedAtMs: number;
}

/** What the database remembers of a file of the source. */
export interface KnownFile extends ListedVersion {
  status: 'seen' | 'importing' | 'imported' | 'failed';
  /** First listing that showed this size and mtime; null for rows written before the window. */
  seenSinceMs: number | null;
}

/** `auto` imports every new or changed file; `once` imports the first files seen, one time. */
export type ImportMode = 'auto' | 'once';

export type FileDecision =
  /**
   * Not stable yet: remember it as seen since `seenSinceMs` (unchanged when `changed` is false).
   */
  | { action: 'wait'; seenSinceMs: number; changed: boolean; newVersion: boolean }
  /** Import it: from the start, or after the position a crashed attempt saved. */
  | { action: 'import'; resume: boolean; newVersion: boolean }
  /** Already imported in this version. */
  | { action: 'done' }
  /** Never imported: a one-time source that has already made its choice of files. */
  | {
      action: 'ignore';
      reason: 'new file' | 'changed after import' | 'unreadable; replace the file';
    };

export interface DecideInput {
  listed: ListedVersion;
  known: KnownFile | undefined;
  nowMs: number;
  stableMs: number;
  mode: ImportMode;
  /** A one-time source has listed files before: its set of files is fixed. */
  sourceStarted: boolean;
}

/**
 * Decides what to do with one listed file. A changed file (new size or mtime) starts a new
 * stability window, and once stable it is imported again as a new version in `auto` mode; a
 * one-time source never imports it again. With a window of 0, the first listing is enough.
 */
export function decideFile(input: DecideInput): FileDecision {
  const { listed, known, nowMs, stableMs, mode } = input;
  const sameVersion =
    known !== undefined &&
    known.sizeBytes === listed.sizeBytes &&
    known.modifiedAtMs === listed.modifiedAtMs;

  if (known === undefined && mode === 'once' && input.sourceStarted) {
    return { action: 'ignore', reason: 'new file' };
  }
  if (known !== undefined && sameVersion) {
    if (known.status === 'imported') return { action: 'done' };
    if (known.status === 'failed')
      return { action: 'ignore', reason: 'unreadable; replace the file' };
    if (known.status === 'importing') return { action: 'import', resume: true, newVersion: false };
    const since = known.seenSinceMs ?? nowMs;
    if (nowMs - since >= stableMs) return { action: 'import', resume: false, newVersion: false };
    return {
      action: 'wait',
      seenSinceMs: since,
      changed: known.seenSinceMs === null,
      newVersion: false,
    };
  }
  const newVersion = known?.status === 'imported';
  if (newVersion && mode === 'once') return { action: 'ignore', reason: 'changed after import' };
  if (stableMs === 0) return { action: 'import', resume: false, newVersion };
  return { action: 'wait', seenSinceMs: nowMs, changed: true, newVersion };
}
