import type { Readable, Writable } from 'node:stream';
import type { ReadStream } from 'node:tty';

import { parseHtpasswd } from '../auth/htpasswd.js';
import { loadConfig } from '../config/config.loader.js';
import { CliError, UsageError } from './cli-error.js';
import {
  hashPassword,
  passwordProblem,
  readHtpasswd,
  removeUser,
  replaceFileAtomically,
  setUserHash,
  usernameProblem,
} from './htpasswd-editor.js';
import { promptNewPassword, readFirstLine } from './password-input.js';

/** The htpasswd file of a user command: `--file`, or else `auth.htpasswd.path` of the config file. */
export interface HtpasswdLocation {
  file?: string;
  configFile: string;
}

/** The streams a user command talks to; tests and the CLI pass the process's own. */
export interface Terminal {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable;
  stderr: Writable;
}

export function htpasswdPathOf(location: HtpasswdLocation): string {
  if (location.file !== undefined) {
    return location.file;
  }

  const path = loadConfig(location.configFile).auth?.htpasswd?.path;

  if (path === undefined) {
    throw new UsageError(
      `${location.configFile} sets no auth.htpasswd.path; set it there, or name the file with --file PATH`,
    );
  }

  return path;
}

/** Adds a user, or sets the password of an existing one, and writes the file atomically. */
export async function addUser(
  username: string,
  location: HtpasswdLocation,
  passwordFromStdin: boolean,
  terminal: Terminal,
): Promise<void> {
  requireValidUsername(username);

  const path = htpasswdPathOf(location);
  const password = await readPassword(passwordFromStdin, terminal);
  const problem = passwordProblem(password);

  if (problem !== undefined) {
    throw new UsageError(problem);
  }

  const hash = await hashPassword(password);
  const existing = (await readHtpasswd(path)) ?? '';
  const { text, replaced } = setUserHash(existing, username, hash);

  await replaceFileAtomically(path, text);
  terminal.stdout.write(
    replaced
      ? `password of user "${username}" changed in ${path}\n`
      : `user "${username}" added to ${path}\n`,
  );
}

export async function deleteUser(
  username: string,
  location: HtpasswdLocation,
  terminal: Terminal,
): Promise<void> {
  requireValidUsername(username);

  const path = htpasswdPathOf(location);
  const { text, removed } = removeUser(await requireHtpasswd(path), username);

  if (removed === 0) {
    throw new CliError(`user "${username}" not found in ${path}`);
  }

  await replaceFileAtomically(path, text);
  terminal.stdout.write(`user "${username}" deleted from ${path}\n`);
}

/**
 * Prints the names of the users who can sign in, one a line. Lines the server skips are reported on
 * standard error by line number, like the server's log does, without their hashes.
 */
export async function listUsers(location: HtpasswdLocation, terminal: Terminal): Promise<void> {
  const path = htpasswdPathOf(location);
  const { hashes, rejected } = parseHtpasswd(await requireHtpasswd(path));

  for (const username of hashes.keys()) {
    terminal.stdout.write(`${username}\n`);
  }

  for (const { line, reason } of rejected) {
    terminal.stderr.write(`${path}:${line}: skipped: ${reason}\n`);
  }
}

function requireValidUsername(username: string): void {
  const problem = usernameProblem(username);

  if (problem !== undefined) {
    throw new UsageError(`invalid user name ${JSON.stringify(username)}: ${problem}`);
  }
}

async function requireHtpasswd(path: string): Promise<string> {
  const text = await readHtpasswd(path);

  if (text === undefined) {
    throw new CliError(`${path} does not exist; "wharf user add NAME" creates it`);
  }

  return text;
}

async function readPassword(fromStdin: boolean, terminal: Terminal): Promise<string> {
  if (fromStdin) {
    return readFirstLine(terminal.stdin);
  }

  if (terminal.stdin.isTTY !== true) {
    throw new UsageError(
      'standard input is not a terminal, so there is no way to prompt for the password; pass --password-stdin and write the password to standard input',
    );
  }

  return promptNewPassword(terminal.stdin as ReadStream, terminal.stderr);
}
