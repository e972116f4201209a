import { DomainError } from '../common/domain-errors.js';
import { parseName } from '../distribution/oci-path.js';

/** One entry of a token's `access` claim, as the Docker token specification defines it. */
export interface ResourceAccess {
  type: string;
  name: string;
  actions: string[];
}

export class ScopeError extends Error {}

/**
 * Parses the `scope` values of a token request. Each value may contain several scopes separated by
 * spaces, and each scope is `type:name:actions`. A name may itself contain a colon (a `host:port`
 * prefix), so the type ends at the first colon and the actions start after the last one.
 */
export function parseScopes(values: readonly string[]): ResourceAccess[] {
  return values
    .flatMap((value) => value.split(' '))
    .filter((scope) => scope !== '')
    .map(parseScope);
}

function parseScope(scope: string): ResourceAccess {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');

  if (first <= 0 || last === first) {
    throw new ScopeError(`scope "${scope}" is not of the form type:name:actions`);
  }

  // A resource class, as in `repository(plugin)`, does not change what is granted.
  const type = scope.slice(0, first).replace(/\([a-z0-9]+\)$/, '');
  const name = scope.slice(first + 1, last);
  const actions = scope
    .slice(last + 1)
    .split(',')
    .filter((action) => action !== '');

  if (type === 'repository') {
    checkName(scope, name);
  }

  if (type === 'registry' && name !== 'catalog') {
    throw new ScopeError(`scope "${scope}": the only registry resource is "catalog"`);
  }

  if (type !== 'repository' && type !== 'registry') {
    throw new ScopeError(`scope "${scope}" has unknown resource type "${type}"`);
  }

  return { type, name, actions };
}

/** Formats scopes for a challenge or a token response. */
export function formatScope(access: ResourceAccess): string {
  return `${access.type}:${access.name}:${access.actions.join(',')}`;
}

function checkName(scope: string, name: string): void {
  try {
    parseName(name);
  } catch (error) {
    const reason = error instanceof DomainError ? error.message : String(error);

    throw new ScopeError(`scope "${scope}" does not name a valid repository: ${reason}`);
  }
}
