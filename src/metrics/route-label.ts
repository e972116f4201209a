import { type OciRoute, parseOciPath } from '../distribution/oci-path.js';

/** Route templates of the `/v2` endpoints, as the OCI Distribution Spec writes them. */
const ociTemplates: Record<OciRoute['kind'], string> = {
  base: '/v2/',
  catalog: '/v2/_catalog',
  manifest: '/v2/<name>/manifests/<reference>',
  blob: '/v2/<name>/blobs/<digest>',
  uploads: '/v2/<name>/blobs/uploads/',
  upload: '/v2/<name>/blobs/uploads/<reference>',
  tags: '/v2/<name>/tags/list',
  referrers: '/v2/<name>/referrers/<digest>',
};

/** Label of `/v2` paths that name no endpoint or break the name, tag or digest grammar. */
export const invalidOciRoute = '/v2/invalid';

/** Label of requests that matched no route (404s outside `/v2`). */
export const unmatchedRoute = 'unmatched';

/**
 * Returns the route label of a request: the OCI endpoint template for `/v2` paths, otherwise the
 * template of the route that matched (`routeUrl`, such as `/api/v1/apikeys/:id`), or `unmatched`.
 * `ociRouteKind` is the endpoint the `/v2` handler already parsed, which saves parsing the path again.
 * The result never contains a repository name or any other part of the path.
 */
export function routeLabel(
  url: string,
  routeUrl: string | undefined,
  ociRouteKind?: OciRoute['kind'],
): string {
  if (ociRouteKind !== undefined) {
    return ociTemplates[ociRouteKind];
  }

  const path = url.split('?', 1)[0];

  if (path === '/v2' || path.startsWith('/v2/')) {
    return ociRouteLabel(path);
  }

  return routeUrl ?? unmatchedRoute;
}

function ociRouteLabel(path: string): string {
  try {
    return ociTemplates[parseOciPath(path).kind];
  } catch {
    // The parser throws a domain error for every path it rejects; the request got that error.
    return invalidOciRoute;
  }
}
