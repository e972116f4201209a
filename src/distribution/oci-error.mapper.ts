import type {
  AuthenticationRequiredError,
  DomainError,
  ShuttingDownError,
  TooManyLoginFailuresError,
  UpstreamRateLimitedError,
  UpstreamUnavailableError,
} from '../common/domain-errors.js';
import { type OciErrorCode, ociErrorCodes } from './oci-errors.js';

/** The HTTP response for a domain error on the `/v2` API. */
export interface OciErrorResponse {
  status: number;
  code: OciErrorCode;
  message: string;
  detail?: unknown;
  headers: Record<string, string>;
}

/** Request details the mapper needs to build headers, such as the upload URL for a `Location`. */
export interface OciErrorContext {
  path: string;
}

/** Maps each domain error kind to its OCI code and status; the only place where that choice is made. */
export function mapDomainError(error: DomainError, context: OciErrorContext): OciErrorResponse {
  const respond = (code: OciErrorCode, status: number = ociErrorCodes[code].status, headers = {}) => ({
    status,
    code,
    message: error.message,
    detail: error.detail,
    headers,
  });

  switch (error.kind) {
    case 'invalid-name':
      return respond('NAME_INVALID');
    case 'invalid-reference':
      return respond('MANIFEST_INVALID');
    case 'invalid-digest':
    case 'digest-mismatch':
      return respond('DIGEST_INVALID');
    case 'size-mismatch':
      return respond('SIZE_INVALID');
    case 'blob-not-found':
      return respond('BLOB_UNKNOWN');
    case 'repository-not-found':
      return respond('NAME_UNKNOWN');
    case 'manifest-not-found':
      return respond('MANIFEST_UNKNOWN');
    case 'manifest-invalid':
      return respond('MANIFEST_INVALID');
    case 'manifest-too-large':
      return respond('SIZE_INVALID', 413);
    case 'manifest-blob-unknown':
      return respond('MANIFEST_BLOB_UNKNOWN');
    case 'manifest-child-unknown':
      return respond('MANIFEST_UNKNOWN', 400);
    case 'upload-not-found':
      return respond('BLOB_UPLOAD_UNKNOWN');
    case 'upload-invalid':
      return respond('BLOB_UPLOAD_INVALID');
    case 'upload-range-invalid': {
      const size = (error.detail as { size: number }).size;

      return respond('BLOB_UPLOAD_INVALID', 416, { Location: context.path, Range: uploadRange(size) });
    }
    case 'range-not-satisfiable': {
      const size = (error.detail as { size: number }).size;

      return respond('SIZE_INVALID', 416, { 'Content-Range': `bytes */${size}` });
    }
    case 'pagination-invalid':
      return respond('UNSUPPORTED', 400);
    case 'route-not-found':
      return respond('UNSUPPORTED', 404);
    case 'method-not-allowed':
      return respond('UNSUPPORTED', 405, {
        Allow: (error.detail as { allowed: string[] }).allowed.join(', '),
      });
    case 'upstream-unavailable':
      return respond('UNKNOWN', upstreamStatus(error as UpstreamUnavailableError));
    case 'upstream-rate-limited': {
      const retryAfter = (error as UpstreamRateLimitedError).retryAfter;

      return respond('TOOMANYREQUESTS', 429, {
        'Retry-After': retryAfter ?? String(defaultRetryAfterSeconds),
      });
    }
    case 'push-to-upstream-denied':
    case 'pull-refused-by-policy':
    case 'access-denied':
      return respond('DENIED');
    case 'authentication-required': {
      const challenge = (error as AuthenticationRequiredError).challenge;

      return respond('UNAUTHORIZED', 401, challenge === undefined ? {} : { 'WWW-Authenticate': challenge });
    }
    case 'too-many-login-failures':
      return respond('TOOMANYREQUESTS', 429, {
        'Retry-After': String((error as TooManyLoginFailuresError).retryAfterSeconds),
      });
    case 'shutting-down':
      return respond('UNAVAILABLE', 503, {
        'Retry-After': String((error as ShuttingDownError).retryAfterSeconds),
      });
    default:
      return assertUnreachable(error.kind);
  }
}

/** Sent when an upstream rate-limited us without saying for how long. */
const defaultRetryAfterSeconds = 60;

/** Returns 504 when the upstream timed out, 503 when it returned 503, and 502 otherwise. */
function upstreamStatus(error: UpstreamUnavailableError): number {
  if (error.failure === 'timeout') {
    return 504;
  }

  return error.upstreamStatus === 503 ? 503 : 502;
}

/** Formats an upload's `Range` header: the inclusive byte range received so far, `0-0` when empty. */
export function uploadRange(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}

function assertUnreachable(kind: never): never {
  throw new Error(`unmapped domain error kind: ${String(kind)}`);
}
