import { findPackage } from '../common/package-info.js';
import type { WharfConfig } from '../config/config.schema.js';
import type { FeaturesView } from './admin-responses.js';

/** Value that replaces each secret in the configuration report. */
export const redactedValue = '[redacted]';

/**
 * Config keys whose values are secrets. Keys that end in `File` are exempt: they contain the path of a
 * file with the secret (`passwordFile`, `clientSecretFile`), which is what an operator needs to see.
 */
const secretKeyPattern = /secret|passw(or)?d|token|credential/i;

let cachedVersion: string | undefined;

/**
 * Copies the configuration for display: every value under a key named like a secret, password or token
 * becomes `[redacted]`, and URLs lose their password. Objects under such keys (`auth.token`, which
 * contains the token settings) are copied with the same rules applied inside.
 */
export function redactConfig(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) {
    return value.map((item) => redactConfig(item, key));
  }

  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, redactConfig(item, name)]));
  }

  if (secretKeyPattern.test(key) && !key.endsWith('File') && value !== undefined && value !== null) {
    return redactedValue;
  }

  return typeof value === 'string' ? withoutUrlPassword(value) : value;
}

/** Replaces the password of a URL such as `postgres://user:pw@host/db`; other text is returned as it is. */
export function withoutUrlPassword(text: string): string {
  if (!text.includes('://')) {
    return text;
  }

  let url: URL;

  try {
    url = new URL(text);
  } catch {
    return text;
  }

  if (url.password === '') {
    return text;
  }

  url.password = 'redacted';

  return url.toString();
}

/** Describes what the configuration turns on. */
export function featuresOf(config: WharfConfig): FeaturesView {
  const auth = config.auth;

  return {
    auth: {
      enabled: auth !== undefined,
      htpasswd: auth?.htpasswd !== undefined,
      oidc: auth?.oidc !== undefined,
      forwardAuth: auth?.forwardAuth.enabled ?? false,
      apiKeys: auth !== undefined,
    },
    upstreams: config.upstreams.map((upstream) => upstream.prefix),
    metrics: { enabled: config.metrics.enabled, port: config.metrics.port },
    database: config.database.type,
  };
}

/** Returns the version in Wharf's package.json, read once. */
export function wharfVersion(): string {
  cachedVersion ??= findPackage(import.meta.url).version;

  return cachedVersion;
}
