import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';

import { plainToInstance } from 'class-transformer';
import { type ValidationError, validateSync } from 'class-validator';
import { parse as parseYaml } from 'yaml';

import { cidrProblem } from '../common/networks.js';
import { type AccessAction, accessActions, WharfConfig } from './config.schema.js';

/** One reason a configuration was rejected: the key path, the offending value and why. */
export interface ConfigProblem {
  key: string;
  value: unknown;
  reason: string;
}

/** Thrown when the configuration cannot be read or does not match the schema. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: ConfigProblem[],
  ) {
    const lines = problems.map(
      (p) =>
        `  ${p.key} = ${mayBeSecret(p.key, p.value) ? '[redacted]' : (JSON.stringify(p.value) ?? 'undefined')}: ${p.reason}`,
    );

    super(`invalid configuration in ${source}:\n${lines.join('\n')}`);
    this.name = 'ConfigError';
  }
}

const envPrefix = 'WHARF_';

/**
 * Variables with the prefix that are not configuration: the command line reads `WHARF_PASSWORD`, and
 * the web UI's development server reads `WHARF_URL`.
 */
const nonConfigVariables = new Set(['WHARF_PASSWORD', 'WHARF_URL']);

/**
 * Words in key names whose values a configuration error does not print, such as `password`,
 * `apiKey` or `secretKey`. Names of paths, such as `clientSecretFile`, are exempt, so that an error
 * names the file that is missing.
 */
const secretKeyPattern = /password|secret|token|key$|credential|private/i;
const pathKeyPattern = /(file|path|directory)$/i;

function isSecretName(name: string): boolean {
  return secretKeyPattern.test(name) && !pathKeyPattern.test(name);
}

/**
 * Tells whether a problem may show a secret: its key, such as `auth.apiKey (from WHARF_AUTH__API_KEY)`,
 * ends in a secret word, or its value has such a key inside it.
 */
function mayBeSecret(key: string, value: unknown): boolean {
  const name = key.split(' ')[0].split('.').pop() ?? '';

  return isSecretName(name) || containsSecretKey(value);
}

function containsSecretKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) {
    return false;
  }

  return Object.entries(value).some(
    ([name, inner]) => isSecretName(name) || containsSecretKey(inner as unknown),
  );
}

/**
 * Loads a YAML or JSON file, applies `WHARF_`-prefixed environment overrides and validates the result.
 * Relative paths in the file are resolved against the working directory.
 */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): WharfConfig {
  const raw = readConfigFile(file);
  const envSources = applyEnvOverrides(raw, env);

  return validateConfig(raw, file, envSources);
}

/**
 * Validates a plain object against the schema and fills in defaults. `envSources` maps key paths to
 * the environment variables that set them, so that a problem names the variable rather than the file.
 */
export function validateConfig(
  raw: Record<string, unknown>,
  source: string,
  envSources: ReadonlyMap<string, string> = new Map(),
): WharfConfig {
  const config = plainToInstance(WharfConfig, raw, { exposeDefaultValues: true });
  const errors = validateSync(config, {
    whitelist: true,
    forbidNonWhitelisted: true,
    stopAtFirstError: true,
  });
  const problems = errors.flatMap((error) => flattenErrors(error, ''));

  problems.push(
    ...checkUpstreamPrefixes(config),
    ...checkDatabaseType(config),
    ...checkNetworks(config),
    ...checkRepositoryRules(config.access.repositories),
    ...checkOidcRedirect(config),
    ...checkAccessNeedsAuth(raw),
    ...checkMetricsPort(config),
  );

  for (const problem of problems) {
    const variable = envSources.get(problem.key);

    if (variable !== undefined) {
      problem.key = `${problem.key} (from ${variable})`;
    }
  }

  if (problems.length > 0) {
    throw new ConfigError(source, problems);
  }

  config.storage.rootDirectory = resolve(config.storage.rootDirectory);
  config.database.path = resolve(config.database.path ?? `${config.storage.rootDirectory}/wharf.db`);

  if (config.auth?.htpasswd) {
    config.auth.htpasswd.path = resolve(config.auth.htpasswd.path);
  }

  if (config.auth) {
    config.auth.token.signingKeyFile = resolve(
      config.auth.token.signingKeyFile ?? `${config.storage.rootDirectory}/token-signing.pem`,
    );
  }

  return Object.freeze(config);
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;

  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [{ key: '(file)', value: file, reason: (error as Error).message }]);
  }

  let parsed: unknown;

  try {
    parsed = extname(file) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(file, [{ key: '(file)', value: file, reason: (error as Error).message }]);
  }

  if (parsed === null || parsed === undefined) {
    return {};
  }

  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(file, [
      { key: '(root)', value: parsed, reason: 'the file must contain a mapping' },
    ]);
  }

  return parsed as Record<string, unknown>;
}

/**
 * Writes each `WHARF_A__B_C=value` into `raw.a.bC` and returns which variable set which key path.
 * Values that parse as JSON (numbers, booleans, arrays) keep that type; anything else stays a string.
 */
export function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Map<string, string> {
  const sources = new Map<string, string>();

  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(envPrefix) || nonConfigVariables.has(name) || value === undefined) {
      continue;
    }

    const path = name.slice(envPrefix.length).split('__').map(camelCase);
    let node: Record<string, unknown> = raw;

    path.slice(0, -1).forEach((key, index) => {
      const child = node[key];

      if (typeof child !== 'object' || child === null) {
        // A numeric next segment, as in WHARF_UPSTREAMS__0__URL, indexes an array.
        node[key] = /^\d+$/.test(path[index + 1]) ? [] : {};
      }

      node = node[key] as Record<string, unknown>;
    });

    node[path[path.length - 1]] = parseEnvValue(value);
    sources.set(path.join('.'), name);
  }

  return sources;
}

function camelCase(upperSnake: string): string {
  return upperSnake.toLowerCase().replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

function parseEnvValue(value: string): unknown {
  try {
    const parsed: unknown = JSON.parse(value);

    return typeof parsed === 'string' ? value : parsed;
  } catch {
    return value;
  }
}

function flattenErrors(error: ValidationError, parent: string): ConfigProblem[] {
  const key = parent ? `${parent}.${error.property}` : error.property;
  const own = Object.values(error.constraints ?? {}).map((reason) => ({
    key,
    value: error.value as unknown,
    reason: error.constraints?.whitelistValidation === reason ? 'unknown key' : reason,
  }));

  return [...own, ...(error.children ?? []).flatMap((child) => flattenErrors(child, key))];
}

function checkDatabaseType(config: WharfConfig): ConfigProblem[] {
  // TODO: PostgreSQL needs the pg driver and tests against a real server before it can be offered.
  return config.database.type === 'postgres'
    ? [{ key: 'database.type', value: 'postgres', reason: 'PostgreSQL is not supported yet; use sqlite' }]
    : [];
}

function checkUpstreamPrefixes(config: WharfConfig): ConfigProblem[] {
  const seen = new Set<string>();
  const problems: ConfigProblem[] = [];

  // The checks below run after the schema's, which already reported a value of the wrong type.
  if (!Array.isArray(config.upstreams)) {
    return problems;
  }

  config.upstreams.forEach((upstream, index) => {
    if (seen.has(upstream.prefix)) {
      problems.push({
        key: `upstreams.${index}.prefix`,
        value: upstream.prefix,
        reason: 'prefix is used twice',
      });
    }

    seen.add(upstream.prefix);
  });

  return problems;
}

function checkNetworks(config: WharfConfig): ConfigProblem[] {
  const lists = [
    { key: 'http.trustedProxies', values: config.http.trustedProxies },
    { key: 'access.anonymous.networks', values: config.access.anonymous.networks },
  ];

  return lists.flatMap(({ key, values }) =>
    (Array.isArray(values) ? values : []).flatMap((value: unknown, index) => {
      const reason = typeof value === 'string' ? cidrProblem(value) : undefined;

      return reason === undefined ? [] : [{ key: `${key}.${index}`, value, reason }];
    }),
  );
}

/** Rejects a metrics listener on the main port, which would stop the main server from starting. */
function checkMetricsPort(config: WharfConfig): ConfigProblem[] {
  const { port } = config.metrics;

  return config.metrics.enabled && port !== 0 && port === config.http.port
    ? [
        {
          key: 'metrics.port',
          value: port,
          reason:
            'must differ from http.port; /metrics is served on the main port anyway, and 0 turns the listener off',
        },
      ]
    : [];
}

/** Rejects access rules without an auth section, where they would be ignored and leave the registry open. */
function checkAccessNeedsAuth(raw: Record<string, unknown>): ConfigProblem[] {
  return raw.access !== undefined && raw.auth === undefined
    ? [
        {
          key: 'access',
          value: '(set)',
          reason:
            'access rules take effect only with an auth section; add auth (for example auth.htpasswd.path) or remove access',
        },
      ]
    : [];
}

const ruleKeys = new Set(['anonymous', 'authenticated', 'users', 'groups']);
const globPattern = /^[a-z0-9*]+([._/-]*[a-z0-9*]+)*$/;

/** Checks `access.repositories`, whose keys are globs and so cannot be described by the schema classes. */
export function checkRepositoryRules(rules: unknown): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const problem = (key: string, value: unknown, reason: string) =>
    problems.push({ key: `access.repositories.${key}`, value, reason });

  if (typeof rules !== 'object' || rules === null || Array.isArray(rules)) {
    return problems;
  }

  for (const [glob, rule] of Object.entries(rules as Record<string, unknown>)) {
    if (!globPattern.test(glob) || glob.includes('***')) {
      problem(glob, glob, 'a repository glob uses lower-case name characters, / and the wildcards * and **');
    }

    if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) {
      problem(glob, rule, 'a rule must be a mapping with anonymous, authenticated, users or groups');
      continue;
    }

    for (const [key, value] of Object.entries(rule as Record<string, unknown>)) {
      if (!ruleKeys.has(key)) {
        problem(`${glob}.${key}`, value, 'unknown key');
      } else if (key === 'anonymous' || key === 'authenticated') {
        checkActions(`${glob}.${key}`, value, problem);
      } else if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        problem(`${glob}.${key}`, value, `${key} must map each name to a list of actions`);
      } else {
        for (const [name, actions] of Object.entries(value as Record<string, unknown>)) {
          checkActions(`${glob}.${key}.${name}`, actions, problem);
        }
      }
    }
  }

  return problems;
}

function checkActions(
  key: string,
  value: unknown,
  problem: (key: string, value: unknown, reason: string) => void,
) {
  const valid =
    Array.isArray(value) && value.every((action) => accessActions.includes(action as AccessAction));

  if (!valid) {
    problem(key, value, `must be a list of actions from ${accessActions.join(', ')}`);
  }
}

function checkOidcRedirect(config: WharfConfig): ConfigProblem[] {
  const oidc = config.auth?.oidc;

  return oidc && oidc.redirectBase === undefined && config.http.externalUrl === undefined
    ? [
        {
          key: 'auth.oidc.redirectBase',
          value: undefined,
          reason: 'OIDC sign-in needs auth.oidc.redirectBase or http.externalUrl to build its callback URL',
        },
      ]
    : [];
}
