import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** A Wharf process started for a test, listening on a loopback port. */
export interface WharfServer {
  /** Base URL without a trailing slash, such as `http://127.0.0.1:40123`. */
  readonly baseUrl: string;
  /** `host:port`, the form skopeo expects in `docker://` references. */
  readonly hostPort: string;
  readonly rootDirectory: string;
  readonly databasePath: string;
  readonly process: ChildProcess;
  /** Everything the process has written to stdout and stderr so far, one entry per line or chunk. */
  output(): string;
  /** The JSON log records written so far. */
  logRecords(): Record<string, unknown>[];
  /**
   * Waits until a log record matches, for up to 5 s, because the process writes its log through a pipe
   * that the test reads a moment after the response arrives. Returns every matching record.
   */
  waitForLog(matches: (record: Record<string, unknown>) => boolean): Promise<Record<string, unknown>[]>;
  /** Stops the process with SIGTERM and waits for it to exit. */
  stop(): Promise<void>;
  /** Kills the process with SIGKILL and waits for it to exit; the data directory stays. */
  kill(): Promise<void>;
  /** Stops the process (if still running) and removes its temporary directory. */
  dispose(): Promise<void>;
}

export interface StartWharfOptions {
  /** Reuse a data directory, for example to restart after a crash. */
  rootDirectory?: string;
  /** Extra config keys merged over the defaults at the top level. */
  config?: Record<string, unknown>;
  /** Extra environment variables for the process. */
  env?: Record<string, string>;
}

const mainScript = fileURLToPath(new URL('../../src/main.js', import.meta.url));

/** Starts `wharf serve` on 127.0.0.1 with a fresh data directory and waits until it listens. */
export async function startWharf(options: StartWharfOptions = {}): Promise<WharfServer> {
  const rootDirectory = options.rootDirectory ?? (await mkdtemp(join(tmpdir(), 'wharf-test-')));
  const databasePath = join(rootDirectory, 'wharf.db');
  const configPath = join(rootDirectory, 'test-config.json');
  const config = {
    http: { address: '127.0.0.1', port: 0 },
    storage: { rootDirectory },
    database: { type: 'sqlite', path: databasePath },
    log: { level: 'info' },
    upstreams: [],
    // Many tests run Wharf processes at once, so none takes the fixed default metrics port; tests of
    // the metrics listener pick a free port themselves.
    metrics: { enabled: true, port: 0 },
    // Scans would attach SBOM referrers that tests of other features do not expect, and they cost CPU
    // on every push. Tests of scanning pass a `scanning` section of their own, which turns it on.
    scanning: { enabled: false },
    ...options.config,
  };

  await writeFile(configPath, JSON.stringify(config, null, 2));

  const child = spawn(process.execPath, [mainScript, 'serve', '--config', configPath], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));

  const baseUrl = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error(`wharf did not start:\n${output.join('')}`)), 20_000);

    lines.on('line', (line) => {
      output.push(line + '\n');

      const url = listeningUrl(line);

      if (url) {
        clearTimeout(timer);
        resolve(url);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`wharf exited with code ${code}:\n${output.join('')}`));
    });
  });

  const stopWith = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
    }

    await exited;
  };

  const logRecords = () => output.flatMap((entry) => entry.split('\n')).flatMap(parseRecord);

  const waitForLog = async (matches: (record: Record<string, unknown>) => boolean) => {
    for (let attempt = 0; attempt < 50; attempt++) {
      const found = logRecords().filter(matches);

      if (found.length > 0) {
        return found;
      }

      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    return [];
  };

  return {
    baseUrl,
    hostPort: new URL(baseUrl).host,
    rootDirectory,
    databasePath,
    process: child,
    output: () => output.join(''),
    logRecords,
    waitForLog,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    dispose: async () => {
      await stopWith('SIGTERM');
      await rm(rootDirectory, { recursive: true, force: true });
    },
  };
}

function listeningUrl(line: string): string | undefined {
  try {
    const entry = JSON.parse(line) as { msg?: unknown; url?: unknown };

    return entry.msg === 'wharf listening' && typeof entry.url === 'string' ? entry.url : undefined;
  } catch {
    return undefined;
  }
}

function parseRecord(line: string): Record<string, unknown>[] {
  try {
    const parsed: unknown = JSON.parse(line);

    return typeof parsed === 'object' && parsed !== null ? [parsed as Record<string, unknown>] : [];
  } catch {
    return [];
  }
}
