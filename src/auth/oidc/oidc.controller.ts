import { Controller } from '@nestjs/common';

import { Public } from '../route-access.js';

/** `/auth/oidc/login` and `/auth/oidc/callback`. */
@Controller('auth/oidc')
@Public()
export class OidcController {}
