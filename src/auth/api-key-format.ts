import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** `wharf_<id>_<secret>`: the id finds the stored hash, the secret proves possession. */
const keyPattern = /^wharf_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface ParsedApiKey {
  id: string;
  secret: string;
}

export function newApiKey(): ParsedApiKey & { text: string } {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');

  return { id, secret, text: `wharf_${id}_${secret}` };
}

/** Parses a password that looks like an API key; undefined for anything else. */
export function parseApiKey(text: string): ParsedApiKey | undefined {
  const match = keyPattern.exec(text);

  return match ? { id: match[1], secret: match[2] } : undefined;
}

/** Hashes a secret to hex SHA-256. Secrets are 256 random bits, so a fast hash is enough to store them. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');

  return left.length === right.length && timingSafeEqual(left, right);
}

/** Computes a key's state at `now`; only `active` keys are accepted as passwords. */
export function apiKeyState(
  key: { revokedAt: number | null; expiresAt: number | null },
  now: number,
): 'active' | 'expired' | 'revoked' {
  if (key.revokedAt !== null) {
    return 'revoked';
  }

  return key.expiresAt !== null && key.expiresAt <= now ? 'expired' : 'active';
}
