import { SetMetadata } from '@nestjs/common';

/**
 * Access rule the global guard applies to a route. Every route has exactly one rule; a route without a decorator
 * needs a signed-in user.
 */
export type RouteAccess = 'public' | 'registry' | 'signed-in' | 'admin';

export const routeAccessKey = 'wharf:route-access';

/** Anyone may call the route, signed in or not (sign-in endpoints, health probes). */
export const Public = () => SetMetadata(routeAccessKey, 'public' satisfies RouteAccess);

/** The `/v2` API: the handler authorizes each request against the repository it names. */
export const RegistryRoute = () => SetMetadata(routeAccessKey, 'registry' satisfies RouteAccess);

/** Only users in `access.admins`. */
export const AdminOnly = () => SetMetadata(routeAccessKey, 'admin' satisfies RouteAccess);
