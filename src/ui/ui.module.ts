import { join } from 'node:path';

import { Module } from '@nestjs/common';
import type { Logger } from 'pino';

import { findPackage } from '../common/package-info.js';
import { RootLogger } from '../common/root-logger.js';
import { UiAssets } from './ui-assets.js';
import { UiController } from './ui.controller.js';

/** The web UI under `/home`, built by `npm run build` into `dist/ui` of Wharf's package. */
@Module({
  controllers: [UiController],
  providers: [
    {
      provide: UiAssets,
      inject: [RootLogger],
      useFactory: (logger: Logger) => {
        const assets = UiAssets.load(join(findPackage(import.meta.url).root, 'dist', 'ui'));

        if (!assets.available) {
          logger.warn(
            { directory: assets.directory },
            'web UI not built; /home answers 503 until `npm run build` has run',
          );
        }

        return assets;
      },
    },
  ],
})
export class UiModule {}
