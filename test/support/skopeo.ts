import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const skopeoPath = '/usr/bin/skopeo';
/** Upper bound for one skopeo run, far above the few seconds that these images (under 10 MiB each) need. */
const skopeoTimeoutMs = 60_000;

interface ExecFailure {
  code?: number | string | null;
  signal?: NodeJS.Signals | null;
  killed?: boolean;
  stdout?: string;
  stderr?: string;
}

/**
 * Runs skopeo with configuration from a private directory only. That directory contains an empty
 * auth file, a policy that accepts unsigned images, an empty registries.d, and a private HOME with
 * an empty per-user registries.conf. Skopeo 1.9 has no flag for registries.conf, but a per-user
 * file stops it from reading /etc/containers/registries.conf and registries.conf.d.
 *
 * NOTE: skopeo run as root still records known blob locations in
 * /var/lib/containers/cache/blob-info-cache-v1.boltdb. Entries are keyed by registry host:port
 * and repository. A stale entry from an earlier server on the same port leads skopeo to try a
 * cross-repository mount or a blob check that fails, after which it uploads the blob.
 */
export class Skopeo {
  private constructor(
    private readonly homeDirectory: string,
    private readonly authFile: string,
    private readonly policyFile: string,
    private readonly registriesDirectory: string,
    private readonly temporaryDirectory: string,
  ) {}

  static async create(directory: string): Promise<Skopeo> {
    const homeDirectory = join(directory, 'home');
    const userConfigDirectory = join(homeDirectory, '.config', 'containers');
    const authFile = join(directory, 'auth.json');
    const policyFile = join(directory, 'policy.json');
    const registriesDirectory = join(directory, 'registries.d');
    const temporaryDirectory = join(directory, 'tmp');

    await mkdir(userConfigDirectory, { recursive: true });
    await mkdir(registriesDirectory, { recursive: true });
    await mkdir(temporaryDirectory, { recursive: true });
    await writeFile(join(userConfigDirectory, 'registries.conf'), '');
    await writeFile(authFile, '{}');
    await writeFile(policyFile, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));

    return new Skopeo(homeDirectory, authFile, policyFile, registriesDirectory, temporaryDirectory);
  }

  /** Copies from an `oci:` or `dir:` source to a `docker://` reference served over plain HTTP. */
  push(source: string, destination: string, options: readonly string[] = []): Promise<string> {
    return this.run([], 'copy', [...options, '--dest-tls-verify=false', source, destination]);
  }

  /** Copies from a `docker://` reference served over plain HTTP to an `oci:` or `dir:` destination. */
  pull(source: string, destination: string, options: readonly string[] = []): Promise<string> {
    return this.run([], 'copy', [...options, '--src-tls-verify=false', source, destination]);
  }

  /** Runs `skopeo inspect` and returns its standard output, which with `--raw` is the exact manifest bytes. */
  inspect(reference: string, options: readonly string[] = []): Promise<string> {
    return this.run([], 'inspect', [...options, ...this.tlsOptions(reference), reference]);
  }

  /**
   * Runs a command with the private configuration. `globalOptions` go before the command, such
   * as `--override-arch`. Rejects with an AssertionError that contains skopeo's stderr.
   */
  async run(globalOptions: readonly string[], command: string, options: readonly string[]): Promise<string> {
    const args = this.arguments(globalOptions, command, options);
    const result = await this.execute(args);

    if (result.failure) {
      assert.fail(describeFailure(args, result.failure));
    }

    return result.stdout;
  }

  /** Runs a command that must fail and returns its stderr. */
  async runExpectingFailure(command: string, options: readonly string[]): Promise<string> {
    const args = this.arguments([], command, options);
    const result = await this.execute(args);

    assert.ok(result.failure, `skopeo ${args.join(' ')} succeeded, expected it to fail:\n${result.stdout}`);

    return result.failure.stderr ?? '';
  }

  private tlsOptions(reference: string): string[] {
    return reference.startsWith('docker://') ? ['--tls-verify=false'] : [];
  }

  private arguments(globalOptions: readonly string[], command: string, options: readonly string[]): string[] {
    return [
      '--policy',
      this.policyFile,
      '--registries.d',
      this.registriesDirectory,
      '--tmpdir',
      this.temporaryDirectory,
      ...globalOptions,
      command,
      '--authfile',
      this.authFile,
      ...options,
    ];
  }

  private execute(args: readonly string[]): Promise<{ stdout: string; failure?: ExecFailure }> {
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: this.homeDirectory,
      XDG_CONFIG_HOME: join(this.homeDirectory, '.config'),
      XDG_RUNTIME_DIR: this.temporaryDirectory,
      TMPDIR: this.temporaryDirectory,
    };

    return new Promise((resolve) => {
      execFile(
        skopeoPath,
        args,
        { env, timeout: skopeoTimeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => {
          if (error) {
            resolve({ stdout, failure: { ...(error as ExecFailure), stdout, stderr } });
          } else {
            resolve({ stdout });
          }
        },
      );
    });
  }
}

function describeFailure(args: readonly string[], failure: ExecFailure): string {
  const outcome = failure.killed
    ? `was killed after the ${skopeoTimeoutMs} ms timeout`
    : `failed with exit code ${String(failure.code)}`;

  return `skopeo ${args.join(' ')} ${outcome}\nstderr:\n${failure.stderr ?? ''}`;
}
