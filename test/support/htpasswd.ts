import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';

/** Writes an htpasswd file of bcrypt hashes made by Apache's own `htpasswd` tool. */
export async function writeHtpasswd(path: string, users: Record<string, string>): Promise<void> {
  const lines = Object.entries(users).map(([user, password]) =>
    execFileSync('/usr/bin/htpasswd', ['-Bbn', user, password], { encoding: 'utf8' }).trim(),
  );

  await writeFile(path, `${lines.join('\n')}\n`);
}

/** Returns the `Authorization` header value of HTTP Basic authentication. */
export function basicAuthorization(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
