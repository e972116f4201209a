import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { Command, CommanderError } from 'commander';

import { ConfigError, loadConfig } from '../config/config.loader.js';
import type { WharfConfig } from '../config/config.schema.js';
import type { AdminConnectionOptions } from './admin-job.js';
import { CliError, exitCodes, UsageError } from './cli-error.js';
import { checkConfigFile } from './config-check.js';
import { findPackage } from '../common/package-info.js';
import { trustFileProblems } from '../signing/trust-files.js';
import { addUser, deleteUser, listUsers, type Terminal } from './user-commands.js';

/** The config file of the current directory, used before the packaged one when it exists. */
const localConfig = 'config/wharf.yaml';

const configOptionHelp =
  'configuration file (YAML or JSON); defaults to ./config/wharf.yaml when it exists, otherwise to the file shipped with Wharf';

/**
 * Runs the `wharf` command line and returns the exit code: 0 on success, 2 for usage or configuration
 * errors, 1 for other failures.
 */
export async function runCli(argv: string[], moduleUrl: string, terminal: Terminal): Promise<number> {
  const packageInfo = findPackage(moduleUrl);
  const defaultConfig = () =>
    existsSync(localConfig) ? localConfig : join(packageInfo.root, 'config', 'wharf.yaml');
  // A command whose success has more than one outcome, such as `scrub`, sets its exit code here.
  const outcome = { exitCode: exitCodes.ok as number };
  const program = buildProgram(packageInfo.version, defaultConfig, terminal, outcome);

  try {
    await program.parseAsync(argv, { from: 'user' });

    return outcome.exitCode;
  } catch (error) {
    return reportError(error, terminal);
  }
}

function buildProgram(
  version: string,
  defaultConfig: () => string,
  terminal: Terminal,
  outcome: { exitCode: number },
): Command {
  const program = new Command('wharf')
    .description('Wharf, an OCI container registry with pull-through caching')
    .version(version, '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'print help for the command and exit')
    .configureOutput({
      writeOut: (text) => terminal.stdout.write(text),
      writeErr: (text) => terminal.stderr.write(text),
    })
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program.helpCommand(false);

  program
    .command('serve')
    .description('start the registry; SIGTERM or SIGINT shuts it down gracefully')
    .option('-c, --config <file>', configOptionHelp)
    .addHelpText(
      'after',
      `
Every key can also be set by an environment variable: storage.rootDirectory is
WHARF_STORAGE__ROOT_DIRECTORY.

Example:
  wharf serve --config /etc/wharf/wharf.yaml`,
    )
    .action(async (options: { config?: string }) => {
      const configFile = options.config ?? defaultConfig();
      const config = loadConfig(configFile);
      // Trust files are read at start, so a broken one is a configuration error, reported as one.
      const trustProblems = trustFileProblems(config.signing);

      if (trustProblems.length > 0) {
        throw new ConfigError(configFile, trustProblems);
      }

      // Loaded here, so that the other commands start without loading the whole server.
      const { ListenError, serve } = await import('./serve-command.js');

      try {
        await serve(config);
      } catch (error) {
        throw new CliError(
          `failed to start: ${error instanceof ListenError ? error.message : describeError(error)}`,
        );
      }
    });

  const config = program.command('config').description('work with configuration files');

  config
    .command('check')
    .description(
      'validate a configuration file and check that the files it names exist; prints "FILE: valid" or one line per problem and exits 2',
    )
    .argument('[file]', 'the configuration file; the same as --config')
    .option('-c, --config <file>', configOptionHelp)
    .addHelpText('after', '\nExample:\n  wharf config check /etc/wharf/wharf.yaml')
    .action((file: string | undefined, options: { config?: string }) => {
      if (file !== undefined && options.config !== undefined && file !== options.config) {
        throw new UsageError('name the configuration file once, as an argument or with --config');
      }

      const configFile = file ?? options.config ?? defaultConfig();

      checkConfigFile(configFile);
      terminal.stdout.write(`${configFile}: valid\n`);
    });

  withAdminConnection(
    program
      .command('scrub')
      .description('check every stored blob of a running Wharf against its digest, and report broken ones'),
  )
    .addHelpText(
      'after',
      `
Progress goes to standard error and the findings to standard output. Exit codes: 0 when every blob
is intact, 3 when some are broken, 1 when the scrub could not run.

Examples:
  wharf scrub --url http://127.0.0.1:5000
  printf '%s\\n' "$ADMIN_API_KEY" | wharf scrub --user admin --password-stdin`,
    )
    .action(async (options: AdminConnectionFlags) => {
      const { scrubCommand } = await import('./scrub-command.js');

      outcome.exitCode = await scrubCommand(adminConnectionOf(options, defaultConfig), terminal);
    });

  withAdminConnection(
    program
      .command('gc')
      .description(
        'run garbage collection on a running Wharf: retention rules, cache quotas, and unreferenced content',
      )
      .option('--dry-run', 'delete nothing; list what a real run would delete'),
  )
    .addHelpText(
      'after',
      `
Progress goes to standard error and what was deleted to standard output. Exit codes: 0 when the run
finished, 1 when it could not run or failed.

Examples:
  wharf gc --dry-run --url http://127.0.0.1:5000
  printf '%s\\n' "$ADMIN_API_KEY" | wharf gc --user admin --password-stdin`,
    )
    .action(async (options: AdminConnectionFlags & { dryRun?: boolean }) => {
      const { gcCommand } = await import('./gc-command.js');

      outcome.exitCode = await gcCommand(
        { ...adminConnectionOf(options, defaultConfig), dryRun: options.dryRun === true },
        terminal,
      );
    });

  withAdminConnection(
    program
      .command('scan')
      .description('scan an image of a running Wharf now and list its vulnerabilities')
      .argument('<image>', 'name:tag, name@digest, or a name, which means name:latest')
      .option('--format <format>', 'table or json', 'table')
      .option(
        '--fail-on <severity>',
        'exit with 3 when a finding is at or above this severity: CRITICAL, HIGH, MEDIUM, LOW, or UNKNOWN for any finding, rated or not',
      ),
    'a user who may read the image, when authentication is on',
  )
    .addHelpText(
      'after',
      `
Progress goes to standard error and the findings to standard output. Exit codes: 0 when the scan
finished, 3 when --fail-on is given and a finding reaches it or a layer could not be read, 1 when
the scan could not run.

Examples:
  wharf scan team/app:v1 --url http://127.0.0.1:5000
  wharf scan team/app@sha256:4c0f... --format json --fail-on HIGH`,
    )
    .action(async (image: string, options: AdminConnectionFlags & { format: string; failOn?: string }) => {
      const { scanCommand } = await import('./scan-command.js');

      if (options.format !== 'table' && options.format !== 'json') {
        throw new UsageError('--format must be table or json');
      }

      const failOn = options.failOn?.toUpperCase();

      if (failOn !== undefined && !['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'].includes(failOn)) {
        throw new UsageError('--fail-on must be CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN (any finding)');
      }

      outcome.exitCode = await scanCommand(
        image,
        {
          ...adminConnectionOf(options, defaultConfig),
          format: options.format,
          failOn: failOn as 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | 'UNKNOWN' | undefined,
        },
        terminal,
      );
    });

  const vulndb = program
    .command('vulndb')
    .description('manage the OSV vulnerability database of a running Wharf');

  withAdminConnection(
    vulndb
      .command('import')
      .description(
        "import OSV records from a folder of JSON files, a zip archive such as OSV's all.zip, or a JSON file",
      )
      .argument('<path>', 'the folder, zip archive or JSON file, read on this machine'),
  )
    .addHelpText(
      'after',
      `
Each JSON file or zip entry holds one OSV record or a JSON array of them. The records are sent to
Wharf, which stores new and changed ones. The count sent goes to standard error and the import
report to standard output. Exit codes: 0 when the import finished, even with warnings; 1 when it
could not run.

Examples:
  wharf vulndb import ./Debian-all.zip --url http://127.0.0.1:5000
  printf '%s\\n' "$ADMIN_API_KEY" | wharf vulndb import ./osv-records/ --user admin --password-stdin`,
    )
    .action(async (path: string, options: AdminConnectionFlags) => {
      const { vulndbImportCommand } = await import('./vulndb-command.js');

      outcome.exitCode = await vulndbImportCommand(
        { ...adminConnectionOf(options, defaultConfig), path },
        terminal,
      );
    });

  withAdminConnection(
    vulndb
      .command('status')
      .description('show the record counts per ecosystem, the last import and the mirror refreshes')
      .option('--json', "print the admin API's JSON instead of text"),
  )
    .addHelpText('after', '\nExample:\n  wharf vulndb status --url http://127.0.0.1:5000')
    .action(async (options: AdminConnectionFlags & { json?: boolean }) => {
      const { vulndbStatusCommand } = await import('./vulndb-command.js');

      outcome.exitCode = await vulndbStatusCommand(
        { ...adminConnectionOf(options, defaultConfig), json: options.json === true },
        terminal,
      );
    });

  const user = program
    .command('user')
    .description('manage the users of the htpasswd file; a running server reloads the file within a second');
  const fileOptionHelp = 'the htpasswd file; defaults to auth.htpasswd.path of the configuration';

  user
    .command('add')
    .description(
      'add a user, or set the password of an existing one; the password is hashed with bcrypt (cost 12)',
    )
    .argument('<name>', 'the user name')
    .option('-f, --file <path>', fileOptionHelp)
    .option('-c, --config <file>', configOptionHelp)
    .option(
      '--password-stdin',
      'read the password from the first line of standard input instead of prompting',
    )
    .addHelpText(
      'after',
      `
Without --password-stdin the password is asked twice on the terminal, without echo. Passwords
may be at most 72 bytes long, the most that bcrypt reads. A new file gets mode 0600.

Examples:
  wharf user add alice --file config/htpasswd
  printf '%s\\n' "$PASSWORD" | wharf user add ci --password-stdin --config /etc/wharf/wharf.yaml`,
    )
    .action(async (name: string, options: { file?: string; config?: string; passwordStdin?: boolean }) => {
      const location = { file: options.file, configFile: options.config ?? defaultConfig() };

      await addUser(name, location, options.passwordStdin === true, terminal);
    });

  user
    .command('delete')
    .description('delete a user from the htpasswd file')
    .argument('<name>', 'the user name')
    .option('-f, --file <path>', fileOptionHelp)
    .option('-c, --config <file>', configOptionHelp)
    .addHelpText('after', '\nExample:\n  wharf user delete alice --file config/htpasswd')
    .action(async (name: string, options: { file?: string; config?: string }) => {
      await deleteUser(name, { file: options.file, configFile: options.config ?? defaultConfig() }, terminal);
    });

  user
    .command('list')
    .description('print the names of the users who can sign in, one a line (never their hashes)')
    .option('-f, --file <path>', fileOptionHelp)
    .option('-c, --config <file>', configOptionHelp)
    .addHelpText('after', '\nExample:\n  wharf user list --config /etc/wharf/wharf.yaml')
    .action(async (options: { file?: string; config?: string }) => {
      await listUsers({ file: options.file, configFile: options.config ?? defaultConfig() }, terminal);
    });

  return program;
}

/** Returns the URL at which a command on the same machine reaches the configured listener. */
/** The options of the commands that sign in to a running Wharf's admin API, as Commander parses them. */
interface AdminConnectionFlags {
  url?: string;
  config?: string;
  user?: string;
  passwordStdin?: boolean;
}

/** Adds the options that name the running Wharf to reach and the user to sign in as. */
function withAdminConnection(
  command: Command,
  userHelp = 'an administrator to sign in as, when authentication is on',
): Command {
  return command
    .option('--url <url>', 'the running Wharf; defaults to http.address and http.port of the configuration')
    .option('-c, --config <file>', configOptionHelp)
    .option('-u, --user <name>', userHelp)
    .option(
      '--password-stdin',
      'read the password or an API key from the first line of standard input instead of WHARF_PASSWORD',
    );
}

function adminConnectionOf(
  options: AdminConnectionFlags,
  defaultConfig: () => string,
): AdminConnectionOptions {
  const url = options.url ?? localUrlOf(loadConfig(options.config ?? defaultConfig()));
  const protocol = URL.canParse(url) ? new URL(url).protocol : undefined;

  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new UsageError(`--url must be an http or https URL, such as http://127.0.0.1:5000, not ${url}`);
  }

  return { url, user: options.user, passwordStdin: options.passwordStdin === true };
}

function localUrlOf(config: WharfConfig): string {
  const address =
    config.http.address === '0.0.0.0' || config.http.address === '::' ? '127.0.0.1' : config.http.address;
  const host = address.includes(':') ? `[${address}]` : address;

  return `http://${host}:${config.http.port}`;
}

function reportError(error: unknown, terminal: Terminal): number {
  // Commander has already printed its message (or the help or version, which exit 0).
  if (error instanceof CommanderError) {
    return error.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
  }

  if (error instanceof ConfigError) {
    terminal.stderr.write(`${error.message}\n`);

    return exitCodes.usage;
  }

  if (error instanceof CliError) {
    terminal.stderr.write(`wharf: ${error.message}\n`);

    return error.exitCode;
  }

  terminal.stderr.write(`wharf: ${describeError(error)}\n`);

  return exitCodes.failure;
}

/** Describes an unexpected error with its stack, which is what a bug report needs. */
function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
