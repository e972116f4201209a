import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

import { AccessDeniedError, AuthenticationRequiredError } from '../common/domain-errors.js';
import { WharfConfig } from '../config/config.schema.js';
import { type RegistryCaller, Authenticator } from './authenticator.js';
import { type AccessAction, AccessPolicy } from './policy.js';
import { formatScope, type ResourceAccess } from './scope.js';
import { type Subject, subjectName } from './subject.js';
import { TokenService } from './token-service.js';

/** The token actions of the Docker token specification. */
export type ScopeAction = 'pull' | 'push' | 'delete';

/** Access a registry request needs: the API root, the catalog, or actions on one repository. */
export type RegistryNeed =
  { kind: 'base' } | { kind: 'catalog' } | { kind: 'repository'; name: string; actions: ScopeAction[] };

/** Rights of the caller of one request; handlers check other repositories and tag moves with it. */
export interface AccessGrant {
  subject: Subject;
  /** Whether this request may take `action` on `repository`: the policy and, if any, the token agree. */
  permits(repository: string, action: AccessAction): boolean;
  /** Whether the subject may read `repository` at all, whatever the token's scopes; for listings. */
  mayRead(repository: string): boolean;
}

/** Policy actions that satisfy each token action; `push` is either creating or moving tags. */
const policyActionsOf: Record<ScopeAction, AccessAction[]> = {
  pull: ['read'],
  push: ['create', 'update'],
  delete: ['delete'],
};

const scopeActionOf: Record<AccessAction, ScopeAction> = {
  read: 'pull',
  create: 'push',
  update: 'push',
  delete: 'delete',
};

/**
 * Authorizes `/v2` requests: authenticates the caller, then checks the policy and, for bearer tokens, the
 * token's scopes. Failures are 401 with a Bearer challenge when signing in (or a better token) would
 * help, and 403 when the caller is authenticated and the policy denies the action.
 */
@Injectable()
export class RegistryAccess {
  readonly enabled: boolean;
  readonly policy: AccessPolicy;

  constructor(
    @Inject(WharfConfig) private readonly config: WharfConfig,
    @Inject(Authenticator) private readonly authenticator: Authenticator,
    @Inject(TokenService) private readonly tokens: TokenService,
  ) {
    this.enabled = config.auth !== undefined;
    this.policy = new AccessPolicy(config.access);
  }

  async authorize(request: FastifyRequest, need: RegistryNeed): Promise<AccessGrant> {
    if (!this.enabled) {
      return openGrant;
    }

    const scope = scopeOf(need);
    const challenge = (error?: string) => this.challenge(request, scope, error);
    const caller = await this.authenticator.registryCaller(request, challenge);
    const grant = this.grantFor(caller);

    if (this.satisfies(caller, grant, need)) {
      return grant;
    }

    if (caller.scheme === 'none' || (caller.scheme === 'bearer' && caller.subject.kind === 'anonymous')) {
      throw new AuthenticationRequiredError(describeNeed('authentication required to', need), challenge());
    }

    const withoutToken = { ...caller, token: undefined };

    if (caller.scheme === 'bearer' && this.satisfies(withoutToken, this.grantFor(withoutToken), need)) {
      throw new AuthenticationRequiredError(
        describeNeed('the token does not grant access to', need),
        challenge('insufficient_scope'),
      );
    }

    throw new AccessDeniedError(describeNeed(`"${subjectName(caller.subject)}" may not`, need));
  }

  /** Token actions the policy allows the subject on a repository, as granted by the token service. */
  grantedActions(subject: Subject, repository: string, requested: readonly string[]): string[] {
    const allowed = this.policy.actions(subject, repository);
    const wanted = requested.includes('*') ? (['pull', 'push', 'delete'] as const) : requested;

    return wanted.filter(
      (action): action is ScopeAction =>
        Object.hasOwn(policyActionsOf, action) &&
        policyActionsOf[action as ScopeAction].some((needed) => allowed.has(needed)),
    );
  }

  /** Checks that a subject may list the catalog at all; entries are then filtered by read access. */
  mayListCatalog(subject: Subject): boolean {
    return subject.kind === 'user' || subject.inAnonymousNetwork;
  }

  private grantFor(caller: RegistryCaller): AccessGrant {
    const { subject, token } = caller;

    return {
      subject,
      permits: (repository, action) =>
        this.policy.allows(subject, repository, action) &&
        (token === undefined || tokenCovers(token.access, 'repository', repository, scopeActionOf[action])),
      mayRead: (repository) => this.policy.allows(subject, repository, 'read'),
    };
  }

  private satisfies(caller: RegistryCaller, grant: AccessGrant, need: RegistryNeed): boolean {
    switch (need.kind) {
      case 'base':
        return caller.scheme !== 'none';
      case 'catalog':
        return (
          this.mayListCatalog(caller.subject) &&
          (caller.token === undefined || tokenCovers(caller.token.access, 'registry', 'catalog', '*'))
        );
      case 'repository':
        return need.actions.every((action) =>
          policyActionsOf[action].some((policyAction) => grant.permits(need.name, policyAction)),
        );
    }
  }

  private challenge(request: FastifyRequest, scope: ResourceAccess | undefined, error?: string): string {
    const base = this.config.http.externalUrl?.replace(/\/+$/, '') ?? `${request.protocol}://${request.host}`;
    const parts = [`realm="${base}/auth/token"`, `service="${this.tokens.service}"`];

    if (scope) {
      parts.push(`scope="${formatScope(scope)}"`);
    }

    if (error) {
      parts.push(`error="${error}"`);
    }

    return `Bearer ${parts.join(',')}`;
  }
}

const openGrant: AccessGrant = {
  subject: { kind: 'anonymous', inAnonymousNetwork: true },
  permits: () => true,
  mayRead: () => true,
};

function tokenCovers(access: readonly ResourceAccess[], type: string, name: string, action: string): boolean {
  return access.some(
    (entry) =>
      entry.type === type &&
      entry.name === name &&
      (entry.actions.includes(action) || entry.actions.includes('*')),
  );
}

function scopeOf(need: RegistryNeed): ResourceAccess | undefined {
  switch (need.kind) {
    case 'base':
      return undefined;
    case 'catalog':
      return { type: 'registry', name: 'catalog', actions: ['*'] };
    case 'repository':
      // Clients ask for pull with push, so one token serves a whole push.
      return {
        type: 'repository',
        name: need.name,
        actions: need.actions.includes('push') ? ['pull', 'push'] : need.actions,
      };
  }
}

function describeNeed(prefix: string, need: RegistryNeed): string {
  switch (need.kind) {
    case 'base':
      return `${prefix} use this registry`;
    case 'catalog':
      return `${prefix} list the catalog`;
    case 'repository':
      return `${prefix} ${need.actions.join(' and ')} "${need.name}"`;
  }
}
