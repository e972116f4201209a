import { readFileSync, unwatchFile, watchFile } from 'node:fs';

import bcrypt from 'bcryptjs';
import type { Logger } from 'pino';

/** bcrypt reads at most this many bytes of a password; longer ones are refused instead of cut short. */
export const maxPasswordBytes = 72;

const bcryptPattern = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;
const reloadPollMs = 1000;

/**
 * The users of an htpasswd file. Only bcrypt entries are accepted; any other line is skipped with a log
 * line naming the file and line number, never the hash. The file is polled, so that an edit, a
 * replacement by rename, or a Kubernetes secret update are all picked up without a restart.
 */
export class HtpasswdFile {
  private hashes = new Map<string, string>();
  /** Compared against when the user is unknown, so that unknown users cost as much as known ones. */
  private dummyHash = bcrypt.hashSync('wharf-unknown-user', 10);
  private readonly listeners: (() => void)[] = [];

  constructor(
    readonly path: string,
    private readonly logger: Logger,
  ) {
    this.load();
  }

  /** Starts watching the file; `onChange` runs after each reload. */
  watch(onChange: () => void): void {
    this.listeners.push(onChange);

    if (this.listeners.length === 1) {
      watchFile(this.path, { interval: reloadPollMs, persistent: false }, () => {
        this.load();
        this.listeners.forEach((listener) => listener());
      });
    }
  }

  close(): void {
    unwatchFile(this.path);
  }

  hashOf(username: string): string | undefined {
    return this.hashes.get(username);
  }

  has(username: string): boolean {
    return this.hashes.has(username);
  }

  /** Checks a password; unknown users and wrong passwords take the same bcrypt work. */
  async verify(username: string, password: string): Promise<boolean> {
    const hash = this.hashes.get(username);
    const matches = await bcrypt.compare(password, hash ?? this.dummyHash);

    return hash !== undefined && matches;
  }

  /** Reads the file again. A file that cannot be read leaves no users, so no stale password still works. */
  load(): void {
    let text: string;

    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      this.logger.error(
        { file: this.path, reason: (error as NodeJS.ErrnoException).code },
        'htpasswd file unreadable; no user can sign in with a password until it can be read',
      );
      this.hashes = new Map();

      return;
    }

    const { hashes, rejected } = parseHtpasswd(text);

    for (const { line, reason } of rejected) {
      this.logger.warn({ file: this.path, line, reason }, 'htpasswd line rejected');
    }

    const first = hashes.values().next().value;

    if (first !== undefined && bcrypt.getRounds(first) !== bcrypt.getRounds(this.dummyHash)) {
      this.dummyHash = bcrypt.hashSync('wharf-unknown-user', bcrypt.getRounds(first));
    }

    this.hashes = hashes;
    this.logger.info({ file: this.path, users: hashes.size }, 'htpasswd file loaded');
  }
}

export interface ParsedHtpasswd {
  hashes: Map<string, string>;
  /** Lines that were skipped, by 1-based line number, with a reason that never quotes the hash. */
  rejected: { line: number; reason: string }[];
}

export function parseHtpasswd(text: string): ParsedHtpasswd {
  const hashes = new Map<string, string>();
  const rejected: { line: number; reason: string }[] = [];

  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();

    if (line === '' || line.startsWith('#')) {
      return;
    }

    const separator = line.indexOf(':');
    const username = line.slice(0, separator);
    const hash = line.slice(separator + 1);

    if (separator <= 0) {
      rejected.push({ line: index + 1, reason: 'expected "username:hash"' });
    } else if (!bcryptPattern.test(hash)) {
      rejected.push({
        line: index + 1,
        reason: `${hashFormat(hash)} is not supported; use bcrypt (htpasswd -B)`,
      });
    } else if (hashes.has(username)) {
      rejected.push({
        line: index + 1,
        reason: `user "${username}" is listed twice; the first entry is used`,
      });
    } else {
      hashes.set(username, hash);
    }
  });

  return { hashes, rejected };
}

/** Names the scheme of a hash without revealing it. */
function hashFormat(hash: string): string {
  if (hash.startsWith('$apr1$')) return 'the APR1-MD5 format';
  if (hash.startsWith('{SHA}')) return 'the SHA-1 format';
  if (/^\$[56]\$/.test(hash)) return 'the SHA-crypt format';
  if (hash.startsWith('$2')) return 'a malformed bcrypt hash';

  return 'this hash format (crypt or plain text)';
}
