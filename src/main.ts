#!/usr/bin/env node
import 'reflect-metadata';

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { ConfigError, loadConfig } from './config/config.loader.js';
import type { WharfConfig } from './config/config.schema.js';
import { createLogger, createWharfApp } from './http-server.js';

const usage = `usage:
  wharf serve [--config FILE]          start the registry
  wharf config check [--config FILE]   validate a configuration file and exit

--config defaults to ./config/wharf.yaml when it exists, otherwise to the file shipped with Wharf.
Every key can be overridden by an environment variable: storage.rootDirectory is
WHARF_STORAGE__ROOT_DIRECTORY.`;

/** How long requests in flight may take to finish after SIGTERM or SIGINT. */
const shutdownGraceMs = 10_000;

/** The embedded default configuration, shipped beside the compiled code. */
const packagedConfig = fileURLToPath(new URL('../../config/wharf.yaml', import.meta.url));

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  const command = positionals.join(' ');

  if (values.help || command === '') {
    process.stdout.write(`${usage}\n`);

    return values.help ? 0 : 2;
  }

  const configFile =
    values.config ?? (existsSync('config/wharf.yaml') ? 'config/wharf.yaml' : packagedConfig);

  switch (command) {
    case 'serve':
      await serve(loadConfig(configFile));

      return 0;
    case 'config check':
      loadConfig(configFile);
      process.stdout.write(`${configFile}: valid\n`);

      return 0;
    default:
      process.stderr.write(`unknown command "${command}"\n${usage}\n`);

      return 2;
  }
}

async function serve(config: WharfConfig): Promise<void> {
  const logger = createLogger(config);
  const app = await createWharfApp(config, logger);

  await app.listen({ host: config.http.address, port: config.http.port });

  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address !== null ? address.port : config.http.port;
  const host = config.http.address.includes(':') ? `[${config.http.address}]` : config.http.address;

  logger.info(
    {
      url: `http://${host}:${port}`,
      rootDirectory: config.storage.rootDirectory,
      database: config.database.path,
    },
    'wharf listening',
  );

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal, graceMs: shutdownGraceMs }, 'shutting down');
      // Requests in flight may finish within the grace period; connections still open after it are cut,
      // so a stalled client cannot keep the process alive.
      setTimeout(() => app.getHttpServer().closeAllConnections(), shutdownGraceMs).unref();
      app.close().then(
        () => {
          logger.info('shut down');
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'failed to shut down cleanly');
          process.exit(1);
        },
      );
    });
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) {
      process.exit(code);
    }
  },
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }

    process.stderr.write(
      `wharf failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
