import { Module } from '@nestjs/common';

/** The admin REST API under /api/v1 and its OpenAPI document. */
@Module({})
export class AdminModule {}
