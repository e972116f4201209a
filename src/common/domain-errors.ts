/**
 * Errors raised by Wharf's domain code. They carry no HTTP status: each transport maps `kind` to its own
 * response in one place (the OCI error mapper for `/v2`).
 */
export type DomainErrorKind =
  | 'invalid-name'
  | 'invalid-reference'
  | 'invalid-digest'
  | 'digest-mismatch'
  | 'size-mismatch'
  | 'blob-not-found'
  | 'repository-not-found'
  | 'manifest-not-found'
  | 'manifest-invalid'
  | 'manifest-too-large'
  | 'manifest-blob-unknown'
  | 'manifest-child-unknown'
  | 'upload-not-found'
  | 'upload-invalid'
  | 'upload-range-invalid'
  | 'range-not-satisfiable'
  | 'pagination-invalid'
  | 'route-not-found'
  | 'method-not-allowed'
  | 'upstream-unavailable'
  | 'upstream-rate-limited'
  | 'push-to-upstream-denied'
  | 'pull-refused-by-policy'
  | 'authentication-required'
  | 'access-denied'
  | 'too-many-login-failures'
  | 'shutting-down';

export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;

  constructor(
    message: string,
    readonly detail?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class InvalidNameError extends DomainError {
  readonly kind = 'invalid-name';

  constructor(name: string, reason: string) {
    super(`invalid repository name: ${reason}`, { name });
  }
}

export class InvalidReferenceError extends DomainError {
  readonly kind = 'invalid-reference';

  constructor(reference: string) {
    super('invalid tag: use up to 128 letters, digits, "_", "." or "-", not starting with "." or "-"', {
      reference,
    });
  }
}

export class InvalidDigestError extends DomainError {
  readonly kind = 'invalid-digest';

  constructor(digest: string, reason: string) {
    super(`invalid digest: ${reason}`, { digest });
  }
}

export class DigestMismatchError extends DomainError {
  readonly kind = 'digest-mismatch';

  constructor(expected: string, actual: string) {
    super('content does not match the digest', { expected, actual });
  }
}

export class SizeMismatchError extends DomainError {
  readonly kind = 'size-mismatch';

  constructor(expected: number, actual: number) {
    super('content length does not match the declared size', { expected, actual });
  }
}

export class BlobNotFoundError extends DomainError {
  readonly kind = 'blob-not-found';

  constructor(digest: string) {
    super('blob unknown to registry', { digest });
  }
}

export class RepositoryNotFoundError extends DomainError {
  readonly kind = 'repository-not-found';

  constructor(name: string) {
    super('repository name not known to registry', { name });
  }
}

export class ManifestNotFoundError extends DomainError {
  readonly kind = 'manifest-not-found';

  constructor(reference: string) {
    super('manifest unknown', { reference });
  }
}

export class ManifestInvalidError extends DomainError {
  readonly kind = 'manifest-invalid';

  constructor(reason: string) {
    super(`manifest invalid: ${reason}`);
  }
}

export class ManifestTooLargeError extends DomainError {
  readonly kind = 'manifest-too-large';

  constructor(limit: number) {
    super(`manifest exceeds the limit of ${limit} bytes`, { limit });
  }
}

export class ManifestBlobUnknownError extends DomainError {
  readonly kind = 'manifest-blob-unknown';

  constructor(digest: string) {
    super('manifest references a blob unknown to this repository', { digest });
  }
}

export class ManifestChildUnknownError extends DomainError {
  readonly kind = 'manifest-child-unknown';

  constructor(digest: string) {
    super('index references a manifest unknown to this repository', { digest });
  }
}

export class UploadNotFoundError extends DomainError {
  readonly kind = 'upload-not-found';

  constructor(uploadId: string) {
    super('blob upload unknown to registry', { uploadId });
  }
}

export class UploadInvalidError extends DomainError {
  readonly kind = 'upload-invalid';

  constructor(reason: string) {
    super(`blob upload invalid: ${reason}`);
  }
}

/** A chunk that does not start where the upload ends; `size` is the number of bytes received so far. */
export class UploadRangeInvalidError extends DomainError {
  readonly kind = 'upload-range-invalid';

  constructor(
    readonly size: number,
    reason: string,
  ) {
    super(`blob upload chunk rejected: ${reason}`, { size });
  }
}

export class RangeNotSatisfiableError extends DomainError {
  readonly kind = 'range-not-satisfiable';

  constructor(
    readonly size: number,
    range: string,
  ) {
    super('requested range is not satisfiable', { range, size });
  }
}

export class PaginationInvalidError extends DomainError {
  readonly kind = 'pagination-invalid';

  constructor(parameter: string, value: string) {
    super(`invalid pagination parameter ${parameter}; use a non-negative integer`, { [parameter]: value });
  }
}

export class RouteNotFoundError extends DomainError {
  readonly kind = 'route-not-found';

  constructor(path: string) {
    super('no registry API endpoint at this path', { path });
  }
}

export class MethodNotAllowedError extends DomainError {
  readonly kind = 'method-not-allowed';

  constructor(
    method: string,
    readonly allowed: string[],
  ) {
    super(`method ${method} is not supported on this endpoint`, { allowed });
  }
}

/** Kind of upstream failure, as counted in statistics and mapped to 502, 503 or 504. */
export type UpstreamFailureKind = 'timeout' | 'network' | 'server-error' | 'invalid-response';

export class UpstreamUnavailableError extends DomainError {
  readonly kind = 'upstream-unavailable';

  constructor(
    readonly upstream: string,
    readonly failure: UpstreamFailureKind,
    /** Failure details, with upstream addresses; logged, never sent to clients. */
    readonly reason: string,
    /** The upstream's own HTTP status, when it returned one. */
    readonly upstreamStatus?: number,
  ) {
    super(`upstream registry "${upstream}" is unavailable (${failure}); retry later`, { upstream, failure });
  }
}

export class UpstreamRateLimitedError extends DomainError {
  readonly kind = 'upstream-rate-limited';

  constructor(
    readonly upstream: string,
    /** The upstream's Retry-After value, passed on to the client. */
    readonly retryAfter: string | undefined,
  ) {
    super(`upstream registry "${upstream}" is rate-limiting requests; retry later`, { upstream });
  }
}

export class PushToUpstreamDeniedError extends DomainError {
  readonly kind = 'push-to-upstream-denied';

  constructor(name: string, prefix: string) {
    super(
      `"${name}" is in the pull-through cache of upstream "${prefix}", which is read-only; push to a name outside that prefix`,
      { name, prefix },
    );
  }
}

/**
 * A scan policy refuses this image: it has findings at or above the policy's severity that the
 * allowlist does not cover, or a layer its scan could not read. The message names the cause, so that
 * the person pulling can fix it.
 */
export class PullRefusedByPolicyError extends DomainError {
  readonly kind = 'pull-refused-by-policy';

  /** Refuses for findings at or above `severity`, naming the first ten advisories. */
  static forFindings(
    name: string,
    digest: string,
    severity: string,
    advisories: string[],
  ): PullRefusedByPolicyError {
    const shown = advisories.slice(0, 10).join(', ');
    const more = advisories.length > 10 ? ` and ${advisories.length - 10} more` : '';

    return new PullRefusedByPolicyError(
      `pull of ${name}@${digest} refused by policy: findings at or above ${severity}: ${shown}${more}; fix them, or add their ids to the policy's allow list`,
      { name, digest, severity, advisories },
    );
  }

  /**
   * Refuses an image without a verified signature where a policy or an `onlySigned` upstream requires
   * one; `reason` describes what its signatures showed.
   */
  static forSignature(name: string, digest: string, rule: string, reason: string): PullRefusedByPolicyError {
    return new PullRefusedByPolicyError(
      `pull of ${name}@${digest} refused by policy: the signing.policies rule for "${rule}" requires a verified signature, and ${reason}`,
      { name, digest, rule },
    );
  }

  /** Refuses to cache an image of an `onlySigned` upstream; `reason` describes what its signatures showed. */
  static forUnsignedUpstreamImage(
    name: string,
    digest: string,
    prefix: string,
    reason: string,
  ): PullRefusedByPolicyError {
    return new PullRefusedByPolicyError(
      `pull of ${name}@${digest} refused by policy: the upstream ${prefix} is onlySigned, so images are cached only when a signature verifies, and ${reason}`,
      { name, digest },
    );
  }

  /** Refuses an image whose scan could not read every layer, so that its findings may be missing. */
  static forIncompleteScan(name: string, digest: string): PullRefusedByPolicyError {
    return new PullRefusedByPolicyError(
      `pull of ${name}@${digest} refused by policy: a layer of the image could not be scanned (see its scan warnings), so findings may be missing; set allowIncomplete on the policy to pull it anyway`,
      { name, digest },
    );
  }
}

/**
 * The request carries no credentials, or credentials that do not check out. `challenge` is the
 * `WWW-Authenticate` value that points a registry client to its token service; API routes leave it out so
 * that browsers never show a password dialog.
 */
export class AuthenticationRequiredError extends DomainError {
  readonly kind = 'authentication-required';

  constructor(
    message: string,
    readonly challenge?: string,
    detail?: Record<string, unknown>,
  ) {
    super(message, detail);
  }
}

/** The caller is known, and the policy does not let them do this. */
export class AccessDeniedError extends DomainError {
  readonly kind = 'access-denied';
}

export class TooManyLoginFailuresError extends DomainError {
  readonly kind = 'too-many-login-failures';

  constructor(readonly retryAfterSeconds: number) {
    super(`too many failed sign-in attempts from this address; retry in ${retryAfterSeconds} s`);
  }
}

/** The process is shutting down, so it starts no new upload that could outlive its grace period. */
export class ShuttingDownError extends DomainError {
  readonly kind = 'shutting-down';

  /**
   * Sent as `Retry-After`. NOTE: this is a guess at how long a load balancer takes to route around this
   * process, or a supervisor to restart it. Clients that ignore the header retry on their own schedule.
   */
  readonly retryAfterSeconds = 5;

  constructor() {
    super('the registry is shutting down and starts no new uploads; retry in a few seconds');
  }
}
