import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import bcrypt from 'bcryptjs';

import { maxPasswordBytes } from '../auth/htpasswd.js';

/** bcrypt cost of new hashes: a work factor of 2^12 rounds. */
export const bcryptCost = 12;

/** Mode of an htpasswd file that `wharf user add` creates: readable and writable by its owner only. */
const newFileMode = 0o600;

/**
 * Returns why a user name cannot go into an htpasswd file, or undefined when it can. The file separates
 * name and hash with `:`, one entry a line, and skips lines that start with `#`.
 */
export function usernameProblem(username: string): string | undefined {
  if (username === '') {
    return 'the user name is empty';
  }

  if (username.includes(':')) {
    return 'a user name cannot contain ":", which separates it from the hash in the file';
  }

  if (/[\s\p{Cc}]/u.test(username)) {
    return 'a user name cannot contain spaces or control characters';
  }

  if (username.startsWith('#')) {
    return 'a user name cannot start with "#", which marks a comment line';
  }

  return undefined;
}

/** Returns why a password cannot be used, or undefined when it can. */
export function passwordProblem(password: string): string | undefined {
  if (password === '') {
    return 'the password is empty';
  }

  const bytes = Buffer.byteLength(password, 'utf8');

  if (bytes > maxPasswordBytes) {
    return `the password is ${bytes} bytes long; bcrypt reads at most ${maxPasswordBytes} bytes, so use a shorter one`;
  }

  return undefined;
}

export function hashPassword(password: string): Promise<string> {
  return bcrypt.hash(password, bcryptCost);
}

/** Returns the user name of an htpasswd line, or undefined for blanks, comments and lines without `:`. */
function usernameOf(line: string): string | undefined {
  const trimmed = line.trim();
  const separator = trimmed.indexOf(':');

  return trimmed === '' || trimmed.startsWith('#') || separator <= 0
    ? undefined
    : trimmed.slice(0, separator);
}

/** Splits a file into lines without their line endings; an empty file has no lines. */
function linesOf(text: string): string[] {
  const lines = text.split(/\r?\n/);

  if (lines[lines.length - 1] === '') {
    lines.pop();
  }

  return lines;
}

/**
 * Sets a user's hash: the user's first line is replaced and any later line of the same user removed,
 * or a new line is appended. Every other line stays as it is.
 */
export function setUserHash(
  text: string,
  username: string,
  hash: string,
): { text: string; replaced: boolean } {
  const entry = `${username}:${hash}`;
  let replaced = false;
  const lines = linesOf(text).flatMap((line) => {
    if (usernameOf(line) !== username) {
      return [line];
    }

    if (replaced) {
      return [];
    }

    replaced = true;

    return [entry];
  });

  if (!replaced) {
    lines.push(entry);
  }

  return { text: `${lines.join('\n')}\n`, replaced };
}

/** Removes every line of a user and returns the new text and how many lines were removed. */
export function removeUser(text: string, username: string): { text: string; removed: number } {
  const lines = linesOf(text);
  const remaining = lines.filter((line) => usernameOf(line) !== username);

  return {
    text: remaining.length === 0 ? '' : `${remaining.join('\n')}\n`,
    removed: lines.length - remaining.length,
  };
}

/** Reads an htpasswd file; a missing file reads as undefined. */
export async function readHtpasswd(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }

    throw error;
  }
}

/**
 * Replaces a file's content atomically. A temporary file in the same directory is written, flushed
 * and renamed over the target, so a reader such as the running server's reload gets the old file or
 * the new one, never a part. An existing file keeps its mode and, where the process may set
 * it, its owner; a new file gets mode 0600. A symbolic link is followed and its target replaced.
 *
 * NOTE: there is no lock, so two commands that edit the same file at once can lose one change.
 */
export async function replaceFileAtomically(path: string, text: string): Promise<void> {
  const target = await realpath(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') {
      return path;
    }

    throw error;
  });
  const existing = await stat(target).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') {
      return undefined;
    }

    throw error;
  });
  const temporary = join(dirname(target), `.${basename(target)}.${randomUUID()}.tmp`);
  const file = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, newFileMode);

  try {
    try {
      await file.writeFile(text, 'utf8');
      // The mode given to open is reduced by the umask; chmod sets it exactly.
      await file.chmod(existing ? existing.mode & 0o7777 : newFileMode);

      if (existing) {
        await keepOwner(file, existing.uid, existing.gid);
      }

      await file.sync();
    } finally {
      await file.close();
    }

    await rename(temporary, target);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);

    throw error;
  }

  await syncDirectory(dirname(target));
}

/**
 * Gives the new file the old one's owner, so that a server running as another user can still read a
 * file that root edited. Only root may give a file away; other users keep their own ownership.
 */
async function keepOwner(file: Awaited<ReturnType<typeof open>>, uid: number, gid: number): Promise<void> {
  try {
    await file.chown(uid, gid);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') {
      throw error;
    }
  }
}

/** Flushes a directory, so that a rename in it survives a crash. */
async function syncDirectory(path: string): Promise<void> {
  const directory = await open(path, 'r');

  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
