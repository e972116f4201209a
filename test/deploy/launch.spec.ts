/**
 * The ways of starting Wharf pass the same V8 flags: `npm start`, the Dockerfile's entry point, the
 * `wharf` bin's shebang and the benchmark harness, which measures Wharf as it is started in production.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/** The repository root, as in compose.spec.ts: three levels above the compiled test, or WHARF_REPOSITORY_ROOT. */
const root = process.env.WHARF_REPOSITORY_ROOT ?? fileURLToPath(new URL('../../../', import.meta.url));

function readRepositoryFile(path: string): Promise<string> {
  return readFile(join(root, path), 'utf8');
}

/** Returns the `--` options that come before `dist/src/main.js` in a command line. */
function flagsBeforeMain(words: string[]): string[] {
  const main = words.findIndex((word) => word.endsWith('dist/src/main.js'));

  assert.ok(main > 0, `no dist/src/main.js in ${words.join(' ')}`);

  return words.slice(0, main).filter((word) => word.startsWith('--'));
}

async function startScriptFlags(): Promise<string[]> {
  const manifest = JSON.parse(await readRepositoryFile('package.json')) as { scripts: { start: string } };

  return flagsBeforeMain(manifest.scripts.start.split(/\s+/));
}

describe('Wharf launch flags', () => {
  it('npm start passes V8 flags', async () => {
    const flags = await startScriptFlags();

    assert.ok(
      flags.some((flag) => flag.startsWith('--max-semi-space-size=')),
      flags.join(' '),
    );
  });

  it("the Dockerfile's entry point passes the same flags", async () => {
    const dockerfile = await readRepositoryFile('Dockerfile');
    const entryPoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile);

    assert.ok(entryPoint, 'the Dockerfile has no exec-form ENTRYPOINT');
    assert.deepEqual(flagsBeforeMain(JSON.parse(entryPoint[1]) as string[]), await startScriptFlags());
  });

  it("the wharf bin's shebang passes the same flags", async () => {
    const shebang = (await readRepositoryFile('src/main.ts')).split('\n')[0];
    const words = shebang.replace(/^#!/, '').split(/\s+/);

    assert.deepEqual(words.slice(0, 3), ['/usr/bin/env', '-S', 'node']);
    assert.deepEqual(
      words.slice(3).filter((word) => word.startsWith('--')),
      await startScriptFlags(),
    );
  });

  it('the benchmark starts Wharf with the same flags', async () => {
    const harness = await readRepositoryFile('bench/registries.mjs');
    const declared = /export const wharfNodeFlags = (\[[^\]]*\]);/.exec(harness);

    assert.ok(declared, 'bench/registries.mjs declares no wharfNodeFlags');
    assert.deepEqual(JSON.parse(declared[1].replaceAll("'", '"')) as string[], await startScriptFlags());
  });
});
