import { constants as fsConstants, promises as fsp } from 'node:fs';
import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { utils } from 'ssh2';
import type { Attributes, FileEntry, SFTPWrapper } from 'ssh2';

const { OPEN_MODE, STATUS_CODE } = utils.sftp;

// NAME responses are sent in slices so that a large drop folder stays under the packet limit.
const READDIR_BATCH = 64;
// ssh2 clients ask for at most 256 KiB per READ; anything larger is capped, never allocated.
const MAX_READ_BYTES = 256 * 1024;
const MONTHS = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' ');

/** A path that resolves outside the served root. */
class PathEscapeError extends Error {}

/** An unknown or closed handle. */
class BadHandleError extends Error {}

type OpenHandle =
  | { kind: 'file'; file: FileHandle }
  | { kind: 'dir'; local: string; pending: FileEntry[] | undefined };

/**
 * Answers the requests of one SFTP channel against the local directory tree under `root` (a
 * real path). Requests it does not handle (SYMLINK, READLINK, EXTENDED) get OP_UNSUPPORTED from
 * ssh2 itself; open files are closed when the channel closes.
 */
export class SftpSession {
  private readonly handles = new Map<number, OpenHandle>();
  private nextHandle = 0;

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly root: string,
  ) {}

  attach(): void {
    const s = this.sftp;
    s.on('OPEN', (id, name, flags, attrs) => this.run(id, () => this.open(id, name, flags, attrs)));
    s.on('READ', (id, handle, offset, n) => this.run(id, () => this.read(id, handle, offset, n)));
    s.on('WRITE', (id, handle, at, data) => this.run(id, () => this.write(handle, at, data)));
    s.on('CLOSE', (id, handle) => this.run(id, () => this.close(handle)));
    s.on('FSTAT', (id, handle) => this.run(id, () => this.fstat(id, handle)));
    s.on('FSETSTAT', (id, handle) => this.run(id, async () => void this.lookup(handle)));
    s.on('STAT', (id, name) => this.run(id, () => this.stat(id, name, fsp.stat)));
    s.on('LSTAT', (id, name) => this.run(id, () => this.stat(id, name, fsp.lstat)));
    s.on('SETSTAT', (id, name) => this.run(id, async () => void (await this.existing(name))));
    s.on('OPENDIR', (id, name) => this.run(id, () => this.openDir(id, name)));
    s.on('READDIR', (id, handle) => this.run(id, () => this.readDir(id, handle)));
    s.on('REALPATH', (id, name) => this.run(id, () => this.realPath(id, name)));
    s.on('RENAME', (id, from, to) => this.run(id, () => this.rename(from, to)));
    s.on('REMOVE', (id, name) => this.run(id, async () => fsp.unlink(await this.local(name))));
    s.on('MKDIR', (id, name) => this.run(id, async () => fsp.mkdir(await this.local(name))));
    s.on('RMDIR', (id, name) => this.run(id, async () => fsp.rmdir(await this.local(name))));
    s.on('close', () => this.closeAll());
  }

  /**
   * Runs one request. Handlers that answer with data, a handle or attributes return `true`; the
   * others are answered with OK here, and every failure with its status code.
   */
  private run(id: number, work: () => Promise<true | void>): void {
    work().then(
      (replied) => {
        if (replied !== true) this.reply(() => this.sftp.status(id, STATUS_CODE.OK));
      },
      (err: unknown) => this.reply(() => this.sftp.status(id, statusOf(err), messageOf(err))),
    );
  }

  private reply(send: () => void): void {
    try {
      send();
    } catch {
      // The channel closed while the request was in flight; nobody is left to answer.
    }
  }

  private async open(id: number, name: string, flags: number, attrs: Attributes): Promise<true> {
    const mode = typeof attrs?.mode === 'number' ? attrs.mode & 0o777 : 0o644;
    const file = await fsp.open(await this.local(name), toFsFlags(flags), mode);
    this.sftp.handle(id, this.register({ kind: 'file', file }));
    return true;
  }

  private async read(id: number, handle: Buffer, offset: number, length: number): Promise<true> {
    const file = this.file(handle);
    const buffer = Buffer.allocUnsafe(Math.min(length, MAX_READ_BYTES));
    const { bytesRead } = await file.read(buffer, 0, buffer.length, offset);
    if (bytesRead === 0) this.sftp.status(id, STATUS_CODE.EOF);
    else this.sftp.data(id, buffer.subarray(0, bytesRead));
    return true;
  }

  private async write(handle: Buffer, offset: number, data: Buffer): Promise<void> {
    await this.file(handle).write(data, 0, data.length, offset);
  }

  private async close(handle: Buffer): Promise<void> {
    const open = this.lookup(handle);
    this.handles.delete(handle.readUInt32BE(0));
    if (open.kind === 'file') await open.file.close();
  }

  private async fstat(id: number, handle: Buffer): Promise<true> {
    this.sftp.attrs(id, toAttributes(await this.file(handle).stat()));
    return true;
  }

  private async stat(id: number, name: string, how: (p: string) => Promise<Stats>): Promise<true> {
    this.sftp.attrs(id, toAttributes(await how(await this.local(name))));
    return true;
  }

  private async existing(name: string): Promise<Stats> {
    return fsp.stat(await this.local(name));
  }

  private async openDir(id: number, name: string): Promise<true> {
    const local = await this.local(name);
    if (!(await fsp.stat(local)).isDirectory()) throw errnoError('ENOTDIR');
    this.sftp.handle(id, this.register({ kind: 'dir', local, pending: undefined }));
    return true;
  }

  private async readDir(id: number, handle: Buffer): Promise<true> {
    const dir = this.lookup(handle);
    if (dir.kind !== 'dir') throw new BadHandleError('Not a directory handle');
    dir.pending ??= await listEntries(dir.local);
    const batch = dir.pending.splice(0, READDIR_BATCH);
    if (batch.length === 0) this.sftp.status(id, STATUS_CODE.EOF);
    else this.sftp.name(id, batch);
    return true;
  }

  private async realPath(id: number, name: string): Promise<true> {
    const virtual = toVirtual(name);
    const attrs = toAttributes(await this.existing(virtual));
    this.sftp.name(id, [{ filename: virtual, longname: virtual, attrs }]);
    return true;
  }

  private async rename(from: string, to: string): Promise<void> {
    const [source, target] = [await this.local(from), await this.local(to)];
    // SFTP v3 RENAME must not replace an existing file (OpenSSH behaves the same way).
    if (await exists(target)) throw errnoError('EEXIST');
    await fsp.rename(source, target);
  }

  /** Maps a client path to a local one inside root, refusing links that lead outside. */
  private async local(name: string): Promise<string> {
    const local = path.join(this.root, toVirtual(name));
    const real = await this.nearestRealPath(local);
    if (real !== this.root && !real.startsWith(this.root + path.sep)) throw new PathEscapeError();
    return local;
  }

  /** Resolves links in `local`, or in its nearest existing ancestor when it does not exist yet. */
  private async nearestRealPath(local: string): Promise<string> {
    for (let probe = local; ; probe = path.dirname(probe)) {
      try {
        return await fsp.realpath(probe);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || probe === this.root) throw err;
        // A dangling link would let a create follow it outside root.
        if (await exists(probe)) throw new PathEscapeError();
      }
    }
  }

  private register(open: OpenHandle): Buffer {
    const id = this.nextHandle++;
    this.handles.set(id, open);
    const handle = Buffer.alloc(4);
    handle.writeUInt32BE(id, 0);
    return handle;
  }

  private lookup(handle: Buffer): OpenHandle {
    const open = handle.length === 4 ? this.handles.get(handle.readUInt32BE(0)) : undefined;
    if (open === undefined) throw new BadHandleError('Unknown handle');
    return open;
  }

  private file(handle: Buffer): FileHandle {
    const open = this.lookup(handle);
    if (open.kind !== 'file') throw new BadHandleError('Not a file handle');
    return open.file;
  }

  private closeAll(): void {
    for (const open of this.handles.values()) {
      if (open.kind === 'file') void open.file.close().catch(() => undefined);
    }
    this.handles.clear();
  }
}

async function exists(local: string): Promise<boolean> {
  return fsp.lstat(local).then(
    () => true,
    () => false,
  );
}

function errnoError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(code), { code });
}

/** Normalises a client path to an absolute path under the virtual `/`; `..` stops at `/`. */
function toVirtual(name: string): string {
  return path.posix.resolve('/', name);
}

function toFsFlags(flags: number): number {
  const read = (flags & OPEN_MODE.READ) !== 0;
  const write = (flags & OPEN_MODE.WRITE) !== 0;
  let result = write ? (read ? fsConstants.O_RDWR : fsConstants.O_WRONLY) : fsConstants.O_RDONLY;
  if (flags & OPEN_MODE.APPEND) result |= fsConstants.O_APPEND;
  if (flags & OPEN_MODE.CREAT) result |= fsConstants.O_CREAT;
  if (flags & OPEN_MODE.TRUNC) result |= fsConstants.O_TRUNC;
  if (flags & OPEN_MODE.EXCL) result |= fsConstants.O_EXCL;
  return result;
}

async function listEntries(dir: string): Promise<FileEntry[]> {
  const names = (await fsp.readdir(dir)).sort();
  const entries = await Promise.all(
    names.map(async (filename) => {
      // An entry deleted between readdir and lstat is simply left out.
      const stats = await fsp.lstat(path.join(dir, filename)).catch(() => undefined);
      return stats && { filename, longname: longName(filename, stats), attrs: toAttributes(stats) };
    }),
  );
  return entries.filter((entry): entry is FileEntry => entry !== undefined);
}

function toAttributes(stats: Stats): Attributes {
  return {
    mode: stats.mode,
    uid: stats.uid,
    gid: stats.gid,
    size: stats.size,
    atime: Math.floor(stats.atimeMs / 1000),
    mtime: Math.floor(stats.mtimeMs / 1000),
  };
}

/** An `ls -l` line; clients such as ssh2-sftp-client read the file type from its first letter. */
function longName(filename: string, stats: Stats): string {
  const type = stats.isDirectory() ? 'd' : stats.isSymbolicLink() ? 'l' : '-';
  const rights = [6, 3, 0]
    .map((shift) => (stats.mode >> shift) & 7)
    .map((bits) => `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${bits & 1 ? 'x' : '-'}`)
    .join('');
  const m = stats.mtime;
  const two = (n: number): string => String(n).padStart(2, '0');
  const time = `${two(m.getUTCHours())}:${two(m.getUTCMinutes())}`;
  const date = `${MONTHS[m.getUTCMonth()]} ${two(m.getUTCDate())} ${time}`;
  return `${type}${rights} 1 ${stats.uid} ${stats.gid} ${stats.size} ${date} ${filename}`;
}

function statusOf(err: unknown): number {
  if (err instanceof PathEscapeError) return STATUS_CODE.PERMISSION_DENIED;
  switch ((err as NodeJS.ErrnoException | null)?.code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return STATUS_CODE.NO_SUCH_FILE;
    case 'EACCES':
    case 'EPERM':
      return STATUS_CODE.PERMISSION_DENIED;
    default:
      return STATUS_CODE.FAILURE;
  }
}

/** A fixed message per status: fs messages would reveal local paths outside the served root. */
function messageOf(err: unknown): string {
  const status = statusOf(err);
  if (status === STATUS_CODE.NO_SUCH_FILE) return 'No such file';
  if (status === STATUS_CODE.PERMISSION_DENIED) return 'Permission denied';
  return err instanceof BadHandleError ? err.message : 'Failure';
}
