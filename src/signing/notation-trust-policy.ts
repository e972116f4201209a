import type { X509Certificate } from 'node:crypto';

import type { NotationCheckAction } from './notation-envelope.js';

/** The verification level of a trust policy, with notation's meaning for each level. */
export type NotationVerificationLevel = 'strict' | 'permissive' | 'audit' | 'skip';

/** The checks a trust policy's `override` may set, named as notation names them. */
export type NotationValidation =
  'integrity' | 'authenticity' | 'authenticTimestamp' | 'expiry' | 'revocation';

/** One trust policy: which repositories it covers, how strictly, and whom it trusts. */
export interface NotationTrustPolicy {
  name: string;
  /** `host/repository` scopes, or `["*"]` for every repository the other policies leave out. */
  registryScopes: string[];
  signatureVerification: {
    level: NotationVerificationLevel;
    override?: Partial<Record<NotationValidation, NotationCheckAction>>;
    /** Accepted for compatibility with notation 1.2 and later; Wharf does not verify timestamps. */
    verifyTimestamp?: 'always' | 'afterCertExpiry';
  };
  /** Trust stores as `type:name`, such as `ca:e2e`. */
  trustStores: string[];
  /** `"*"`, or `x509.subject: ` followed by a distinguished name the signing certificate must match. */
  trustedIdentities: string[];
}

/** A notation trust policy document (`trustpolicy.json`), version 1.0. */
export interface NotationTrustPolicyDocument {
  version: '1.0';
  trustPolicies: NotationTrustPolicy[];
}

const levels: readonly NotationVerificationLevel[] = ['strict', 'permissive', 'audit', 'skip'];
const validations: readonly NotationValidation[] = [
  'integrity',
  'authenticity',
  'authenticTimestamp',
  'expiry',
  'revocation',
];
const actions: readonly NotationCheckAction[] = ['enforce', 'log', 'skip'];

/** The actions notation's levels take for the time checks; integrity and authenticity are always enforced here. */
const levelActions: Record<
  Exclude<NotationVerificationLevel, 'skip'>,
  Record<'authenticTimestamp' | 'expiry', NotationCheckAction>
> = {
  strict: { authenticTimestamp: 'enforce', expiry: 'enforce' },
  permissive: { authenticTimestamp: 'log', expiry: 'log' },
  audit: { authenticTimestamp: 'log', expiry: 'log' },
};

const storePattern = /^(ca|signingAuthority|tsa):[A-Za-z0-9_.-]+$/;

/** An OCI repository name, as the distribution specification defines it. */
const repositoryPattern =
  /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;

const subjectPrefix = 'x509.subject:';

/** The attributes notation requires in a trusted identity's distinguished name. */
const requiredAttributes = ['C', 'ST', 'O'];

/**
 * Validates a notation trust policy document and returns a copy with only the fields Wharf uses.
 * Raises an Error whose message starts with the path of the bad field, such as
 * `trustPolicies[1].signatureVerification.level`.
 *
 * Besides notation's own rules (unique names, one `"*"` policy, `"*"` alone in a list, stores and
 * identities required unless the level is skip), a scope's repository may appear in only one
 * policy, because `policyFor` does not compare hosts. Overrides may not relax integrity or
 * authenticity, which Wharf always enforces.
 */
export function parseTrustPolicy(json: unknown): NotationTrustPolicyDocument {
  const document = objectAt(json, 'the trust policy document');

  if (document.version !== '1.0') {
    throw new Error(`version: expected "1.0", found ${describe(document.version)}`);
  }

  const policies = arrayAt(document.trustPolicies, 'trustPolicies');

  if (policies.length === 0) {
    throw new Error('trustPolicies: the list is empty');
  }

  const parsed = policies.map((policy, index) => parsePolicy(policy, `trustPolicies[${index}]`));

  checkUnique(parsed);

  return { version: '1.0', trustPolicies: parsed };
}

/**
 * Picks the trust policy for a Wharf repository: the policy with a scope whose part after the first
 * "/" equals `repository`, else the `"*"` policy, else none.
 *
 * NOTE: the host part of a scope is not compared, because clients reach a registry under many host
 * names (a DNS name, an IP address, localhost behind a tunnel), and Wharf cannot tell which ones
 * are its own. So `registry.example/app` and `localhost:5000/app` both select the repository `app`.
 */
export function policyFor(
  document: NotationTrustPolicyDocument,
  repository: string,
): NotationTrustPolicy | undefined {
  const scoped = document.trustPolicies.find((policy) =>
    policy.registryScopes.some((scope) => scope !== '*' && repositoryOf(scope) === repository),
  );

  return scoped ?? document.trustPolicies.find((policy) => policy.registryScopes.includes('*'));
}

/**
 * Returns the action a policy takes when the signature has expired (`expiry`) or a certificate is
 * not valid at verification time (`authenticTimestamp`), and whether an override chose it.
 */
export function policyAction(
  policy: NotationTrustPolicy,
  validation: 'authenticTimestamp' | 'expiry',
): { action: NotationCheckAction; overridden: boolean } {
  const { level, override } = policy.signatureVerification;
  const chosen = override?.[validation];

  if (chosen !== undefined) {
    return { action: chosen, overridden: true };
  }

  return { action: level === 'skip' ? 'skip' : levelActions[level][validation], overridden: false };
}

/**
 * Tells whether the signing certificate matches one of the policy's trusted identities. As in
 * notation, a distinguished name is compared as a set of attribute=value pairs: the order does not
 * matter, and every attribute the policy names must be present in the subject with an equal value.
 */
export function identityTrusted(policy: NotationTrustPolicy, leaf: X509Certificate): boolean {
  if (policy.trustedIdentities.includes('*')) {
    return true;
  }

  let subject: Map<string, string>;

  try {
    // Node prints one attribute per line, with RFC 4514 escapes in the values.
    subject = parseDistinguishedName(leaf.subject, '\n');
  } catch {
    return false;
  }

  return policy.trustedIdentities.some((identity) => {
    const wanted = identity.startsWith(subjectPrefix) ? distinguishedNameOrNone(identity) : undefined;

    return (
      wanted !== undefined && [...wanted].every(([attribute, value]) => subject.get(attribute) === value)
    );
  });
}

/**
 * Parses a distinguished name into attribute=value pairs, with attribute types upper-cased and RFC
 * 4514 escapes (`\,` and `\2C`) decoded. `separator` splits relative distinguished names: "," in a
 * policy, a line break in Node's `X509Certificate.subject`. Multi-valued names (`A=1+B=2`) add each
 * attribute. Raises an Error on an empty or malformed name and on a repeated attribute.
 */
export function parseDistinguishedName(text: string, separator: ',' | '\n'): Map<string, string> {
  const attributes = new Map<string, string>();

  for (const pair of splitUnescaped(text, [separator, '+'])) {
    const equals = pair.indexOf('=');
    const type = pair.slice(0, equals).trim().toUpperCase();

    if (equals <= 0 || type === '' || !/^[A-Z0-9.-]+$/.test(type)) {
      throw new Error(`"${pair.trim()}" is not an attribute=value pair`);
    }

    if (attributes.has(type)) {
      throw new Error(`the attribute ${type} appears more than once`);
    }

    attributes.set(type, unescapeValue(pair.slice(equals + 1).trim()));
  }

  return attributes;
}

/** Parses the name of an `x509.subject:` identity; undefined for a policy built without `parseTrustPolicy`. */
function distinguishedNameOrNone(identity: string): Map<string, string> | undefined {
  try {
    return parseDistinguishedName(identity.slice(subjectPrefix.length), ',');
  } catch {
    return undefined;
  }
}

function parsePolicy(json: unknown, path: string): NotationTrustPolicy {
  const policy = objectAt(json, path);
  const known = ['name', 'registryScopes', 'signatureVerification', 'trustStores', 'trustedIdentities'];

  rejectUnknown(policy, known, path);

  if (typeof policy.name !== 'string' || policy.name.trim() === '') {
    throw new Error(`${path}.name: expected a non-empty string, found ${describe(policy.name)}`);
  }

  const registryScopes = stringsAt(policy.registryScopes, `${path}.registryScopes`);

  if (registryScopes.length === 0) {
    throw new Error(`${path}.registryScopes: the list is empty`);
  }

  registryScopes.forEach((scope, index) =>
    checkScope(scope, registryScopes, `${path}.registryScopes[${index}]`),
  );

  const signatureVerification = parseVerification(
    policy.signatureVerification,
    `${path}.signatureVerification`,
  );
  const trustStores = stringsAt(policy.trustStores ?? [], `${path}.trustStores`);
  const trustedIdentities = stringsAt(policy.trustedIdentities ?? [], `${path}.trustedIdentities`);

  trustStores.forEach((store, index) => {
    if (!storePattern.test(store)) {
      throw new Error(
        `${path}.trustStores[${index}]: "${store}" is not "type:name" with type ca, signingAuthority or tsa`,
      );
    }
  });
  trustedIdentities.forEach((identity, index) =>
    checkIdentity(identity, trustedIdentities, `${path}.trustedIdentities[${index}]`),
  );
  checkLists(signatureVerification.level, trustStores, trustedIdentities, path);

  return { name: policy.name, registryScopes, signatureVerification, trustStores, trustedIdentities };
}

function checkScope(scope: string, scopes: readonly string[], path: string): void {
  if (scope === '*') {
    if (scopes.length > 1) {
      throw new Error(`${path}: "*" must be the only scope of its policy`);
    }

    return;
  }

  const slash = scope.indexOf('/');

  if (slash <= 0 || !repositoryPattern.test(scope.slice(slash + 1))) {
    throw new Error(`${path}: "${scope}" is not "host/repository" with a valid repository name`);
  }
}

function parseVerification(json: unknown, path: string): NotationTrustPolicy['signatureVerification'] {
  const verification = objectAt(json, path);

  rejectUnknown(verification, ['level', 'override', 'verifyTimestamp'], path);

  const level = verification.level;

  if (!levels.includes(level as NotationVerificationLevel)) {
    throw new Error(`${path}.level: expected one of ${levels.join(', ')}, found ${describe(level)}`);
  }

  const result: NotationTrustPolicy['signatureVerification'] = { level: level as NotationVerificationLevel };

  if (verification.verifyTimestamp !== undefined) {
    if (verification.verifyTimestamp !== 'always' && verification.verifyTimestamp !== 'afterCertExpiry') {
      throw new Error(
        `${path}.verifyTimestamp: expected always or afterCertExpiry, found ${describe(verification.verifyTimestamp)}`,
      );
    }

    result.verifyTimestamp = verification.verifyTimestamp;
  }

  if (verification.override !== undefined) {
    result.override = parseOverride(verification.override, result.level, `${path}.override`);
  }

  return result;
}

function parseOverride(
  json: unknown,
  level: NotationVerificationLevel,
  path: string,
): Partial<Record<NotationValidation, NotationCheckAction>> {
  const override = objectAt(json, path);
  const result: Partial<Record<NotationValidation, NotationCheckAction>> = {};

  if (level === 'skip') {
    throw new Error(`${path}: a policy with level skip cannot override checks`);
  }

  rejectUnknown(override, validations, path);

  for (const [validation, action] of Object.entries(override)) {
    if (!actions.includes(action as NotationCheckAction)) {
      throw new Error(`${path}.${validation}: expected enforce, log or skip, found ${describe(action)}`);
    }

    if (validation === 'integrity') {
      throw new Error(`${path}.integrity: integrity cannot be overridden`);
    }

    if (validation === 'authenticity' && action !== 'enforce') {
      throw new Error(
        `${path}.authenticity: Wharf always enforces authenticity, so only enforce is accepted`,
      );
    }

    result[validation as NotationValidation] = action as NotationCheckAction;
  }

  return result;
}

function checkIdentity(identity: string, identities: readonly string[], path: string): void {
  if (identity === '*') {
    if (identities.length > 1) {
      throw new Error(`${path}: "*" must be the only trusted identity of its policy`);
    }

    return;
  }

  if (!identity.startsWith(subjectPrefix)) {
    throw new Error(`${path}: "${identity}" is neither "*" nor "${subjectPrefix} <distinguished name>"`);
  }

  let attributes: Map<string, string>;

  try {
    attributes = parseDistinguishedName(identity.slice(subjectPrefix.length), ',');
  } catch (error) {
    throw new Error(`${path}: the distinguished name is invalid: ${(error as Error).message}`, {
      cause: error,
    });
  }

  const missing = requiredAttributes.filter((attribute) => !attributes.has(attribute));

  if (missing.length > 0) {
    throw new Error(
      `${path}: the distinguished name must contain C, ST and O; it lacks ${missing.join(', ')}`,
    );
  }
}

function checkLists(
  level: NotationVerificationLevel,
  stores: string[],
  identities: string[],
  path: string,
): void {
  if (level === 'skip') {
    if (stores.length > 0 || identities.length > 0) {
      throw new Error(`${path}: a policy with level skip must list no trustStores and no trustedIdentities`);
    }

    return;
  }

  if (stores.length === 0) {
    throw new Error(`${path}.trustStores: level ${level} needs at least one trust store`);
  }

  if (identities.length === 0) {
    throw new Error(`${path}.trustedIdentities: level ${level} needs at least one trusted identity`);
  }
}

/** Rejects duplicate names, a second `"*"` policy and a repository covered by two policies. */
function checkUnique(policies: readonly NotationTrustPolicy[]): void {
  const names = new Set<string>();
  const repositories = new Map<string, string>();

  policies.forEach((policy, index) => {
    const path = `trustPolicies[${index}]`;

    if (names.has(policy.name)) {
      throw new Error(`${path}.name: the name "${policy.name}" is used by an earlier policy`);
    }

    names.add(policy.name);
    policy.registryScopes.forEach((scope, scopeIndex) => {
      const repository = scope === '*' ? '*' : repositoryOf(scope);
      const owner = repositories.get(repository);

      if (owner !== undefined) {
        throw new Error(
          `${path}.registryScopes[${scopeIndex}]: "${scope}" is already covered by the policy "${owner}" (hosts are not compared)`,
        );
      }

      repositories.set(repository, policy.name);
    });
  });
}

function repositoryOf(scope: string): string {
  return scope.slice(scope.indexOf('/') + 1);
}

/** Splits at separators that are not escaped by a backslash, keeping escapes for `unescapeValue`. */
function splitUnescaped(text: string, separators: readonly string[]): string[] {
  const parts: string[] = [];
  let current = '';

  for (let index = 0; index < text.length; index++) {
    const character = text[index];

    if (character === '\\' && index + 1 < text.length) {
      current += character + text[index + 1];
      index += 1;
    } else if (separators.includes(character)) {
      parts.push(current);
      current = '';
    } else {
      current += character;
    }
  }

  parts.push(current);

  if (parts.some((part) => part.trim() === '')) {
    throw new Error(`"${text.trim()}" has an empty attribute`);
  }

  return parts;
}

/** Decodes RFC 4514 escapes: a backslash before a special character, or before two hex digits of UTF-8. */
function unescapeValue(value: string): string {
  const bytes: number[] = [];

  for (let index = 0; index < value.length; index++) {
    const hex = value.slice(index + 1, index + 3);

    if (value[index] === '\\' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      index += 2;
    } else {
      const character = value[index] === '\\' && index + 1 < value.length ? value[++index] : value[index];

      bytes.push(...Buffer.from(character, 'utf8'));
    }
  }

  return Buffer.from(bytes).toString('utf8');
}

function objectAt(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${path}: expected an object, found ${describe(value)}`);
  }

  return value as Record<string, unknown>;
}

function arrayAt(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) {
    throw new Error(`${path}: expected an array, found ${describe(value)}`);
  }

  return value;
}

function stringsAt(value: unknown, path: string): string[] {
  return arrayAt(value, path).map((entry, index) => {
    if (typeof entry !== 'string') {
      throw new Error(`${path}[${index}]: expected a string, found ${describe(entry)}`);
    }

    return entry;
  });
}

function rejectUnknown(object: Record<string, unknown>, known: readonly string[], path: string): void {
  const unknown = Object.keys(object).find((key) => !known.includes(key));

  if (unknown !== undefined) {
    throw new Error(`${path}.${unknown}: unknown field; expected one of ${known.join(', ')}`);
  }
}

function describe(value: unknown): string {
  if (value === undefined) {
    return 'nothing';
  }

  return Array.isArray(value) ? 'an array' : JSON.stringify(value);
}
