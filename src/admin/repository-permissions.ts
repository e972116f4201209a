import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

import { RegistryAccess } from '../auth/registry-access.js';
import type { Subject } from '../auth/subject.js';
import {
  AccessDeniedError,
  AuthenticationRequiredError,
  RepositoryNotFoundError,
} from '../common/domain-errors.js';
import { UpstreamRoutes } from '../upstream/upstream-routes.js';

/**
 * Applies the `/v2` policy to admin API requests. A repository the caller may not read is reported as
 * not found, exactly like one that does not exist, so its name leaks nothing. With authentication off
 * every caller may do everything, as on `/v2`.
 */
@Injectable()
export class RepositoryPermissions {
  constructor(
    @Inject(RegistryAccess) private readonly access: RegistryAccess,
    @Inject(UpstreamRoutes) private readonly routes: UpstreamRoutes,
  ) {}

  /** Returns the caller the global guard identified. */
  subjectOf(request: FastifyRequest): Subject {
    const subject = request.caller?.subject;

    if (subject === undefined) {
      throw new AuthenticationRequiredError('sign in first');
    }

    return subject;
  }

  /**
   * Returns the name the repository is stored under: a pull-through name gets its upstream's spelling
   * (`docker/nginx` is stored as `docker/library/nginx`), and any other name is returned unchanged.
   */
  storedName(name: string): string {
    return this.routes.match(name)?.localName ?? name;
  }

  /** Returns the upstream prefix a repository is cached from, or null for a local repository. */
  upstreamOf(name: string): string | null {
    return this.routes.match(name)?.upstream.prefix ?? null;
  }

  /** Returns whether the caller may read every repository, so listings need no check per name. */
  readsEverything(subject: Subject): boolean {
    return !this.access.enabled || this.access.policy.isAdmin(subject);
  }

  mayRead(subject: Subject, name: string): boolean {
    return !this.access.enabled || this.access.policy.allows(subject, name, 'read');
  }

  /** Throws RepositoryNotFoundError (404) when the caller may not read the repository. */
  assertReadable(subject: Subject, name: string): void {
    if (!this.mayRead(subject, name)) {
      throw new RepositoryNotFoundError(name);
    }
  }

  /** Returns whether the caller may delete tags and manifests of a repository they may read. */
  mayDelete(subject: Subject, name: string): boolean {
    return (
      this.routes.match(name) === undefined &&
      (!this.access.enabled || this.access.policy.allows(subject, name, 'delete'))
    );
  }

  /**
   * Throws unless the caller may delete from the repository: 404 when they may not even read it, 403
   * when they may read but not delete, and 403 for a pull-through repository, which is read-only.
   */
  assertDeletable(subject: Subject, name: string): void {
    this.assertReadable(subject, name);

    const target = this.routes.match(name);

    if (target) {
      throw new AccessDeniedError(
        `"${name}" is cached from upstream "${target.upstream.prefix}" and is read-only; delete the content in the upstream registry instead`,
      );
    }

    if (this.access.enabled && !this.access.policy.allows(subject, name, 'delete')) {
      throw new AccessDeniedError(`you may not delete from "${name}"`);
    }
  }
}
