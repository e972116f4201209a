import { accessSync, constants, readFileSync, statSync } from 'node:fs';

import { type ConfigProblem, ConfigError, loadConfig } from '../config/config.loader.js';
import type { WharfConfig } from '../config/config.schema.js';
import { trustFileProblems } from '../signing/trust-files.js';

/**
 * Validates a configuration file, then checks that the files it names exist and can be read. `serve`
 * starts without them (it waits for the htpasswd file, for example), so only this check reports them.
 */
export function checkConfigFile(file: string): WharfConfig {
  const config = loadConfig(file);
  const problems = [...checkReferencedFiles(config), ...trustFileProblems(config.signing)];

  if (problems.length > 0) {
    throw new ConfigError(file, problems);
  }

  return config;
}

/** Returns one problem for each file the configuration names that is missing or unreadable. */
export function checkReferencedFiles(config: WharfConfig): ConfigProblem[] {
  const files: { key: string; path: string | undefined; hint?: string; secret?: boolean }[] = [
    {
      key: 'auth.htpasswd.path',
      path: config.auth?.htpasswd?.path,
      hint: `create it with "wharf user add NAME --file ${config.auth?.htpasswd?.path}"`,
    },
    { key: 'auth.oidc.clientSecretFile', path: config.auth?.oidc?.clientSecretFile, secret: true },
    ...config.upstreams.flatMap((upstream, index) => [
      { key: `upstreams.${index}.passwordFile`, path: upstream.passwordFile, secret: true },
      { key: `upstreams.${index}.caFile`, path: upstream.caFile },
    ]),
  ];

  return files.flatMap(({ key, path, hint, secret }) => {
    if (path === undefined) {
      return [];
    }

    const problem = fileProblem(path, secret ?? false);

    if (problem === undefined) {
      return [];
    }

    return [
      { key, value: path, reason: problem.missing && hint ? `${problem.reason}; ${hint}` : problem.reason },
    ];
  });
}

function fileProblem(path: string, secret: boolean): { reason: string; missing: boolean } | undefined {
  try {
    if (!statSync(path).isFile()) {
      return { reason: 'not a regular file', missing: false };
    }

    accessSync(path, constants.R_OK);

    // A secret file left empty would be sent as an empty secret, which the other side rejects later.
    if (secret && readFileSync(path, 'utf8').trim() === '') {
      return { reason: 'the file is empty; put the secret in it', missing: false };
    }

    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;

    if (code === 'ENOENT') {
      return { reason: 'file not found', missing: true };
    }

    if (code === 'EACCES') {
      return { reason: 'file not readable by this user', missing: false };
    }

    return { reason: `cannot read the file (${code ?? (error as Error).message})`, missing: false };
  }
}
