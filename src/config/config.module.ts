import { type DynamicModule, Global, Module } from '@nestjs/common';

import { WharfConfig } from './config.schema.js';

/** Makes the validated, frozen configuration injectable as `WharfConfig`. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: WharfConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: WharfConfig, useValue: config }],
      exports: [WharfConfig],
    };
  }
}
