import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';

import { RootLogger } from '../common/root-logger.js';

export type AuditEvent =
  | 'push'
  | 'tag-move'
  | 'delete'
  | 'login'
  | 'login-failed'
  | 'logout'
  | 'api-key-create'
  | 'api-key-revoke'
  | 'gc-delete'
  | 'quarantine';

/**
 * Writes audit records: ordinary log lines marked `"audit": true`, so a log pipeline can route them to
 * their own stream. Fields name users, repositories and digests, never a secret.
 */
@Injectable()
export class AuditLog {
  private readonly logger: Logger;

  constructor(@Inject(RootLogger) logger: Logger) {
    this.logger = logger.child({ audit: true });
  }

  record(event: AuditEvent, fields: Record<string, unknown>): void {
    this.logger.info({ event, ...fields }, `audit: ${event}`);
  }
}
