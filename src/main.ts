#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=100
// The V8 flags above keep the heap small under load: 2 MiB semi-spaces, and an old generation that at
// most doubles before a full collection. Slower growth made uploads spend a third of their time in
// garbage collection. package.json's start script and the Dockerfile pass the same flags, and
// docs/benchmarks.md shows their effect.
import 'reflect-metadata';

import { runCli } from './cli/program.js';

// `wharf ... --help | head` closes the pipe early; that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') {
    process.exit(0);
  }

  throw error;
});

runCli(process.argv.slice(2), import.meta.url, process).then(
  (code) => {
    // A successful `serve` keeps running on its open server; other commands end when their work does.
    if (code !== 0) {
      process.exit(code);
    }
  },
  (error: unknown) => {
    process.stderr.write(
      `wharf: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
