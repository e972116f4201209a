import eslint from '@eslint/js';
import stylistic from '@stylistic/eslint-plugin';
import prettierConfig from 'eslint-config-prettier';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['dist/', 'dist-test/', 'node_modules/', 'data/']),

  eslint.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          // tsconfig.json includes src, test and migrations but not bench, so bench files are
          // type-checked with the compiler options of tsconfig.json. The project service accepts at
          // most 8 such files and no '**' pattern. Beyond that, add bench to tsconfig.json and remove
          // this entry, because a file matched here must not also belong to a tsconfig.
          allowDefaultProject: ['bench/*.ts'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  {
    plugins: { '@stylistic': stylistic },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // The node:test runner awaits the promises that describe(), it() and suite() return.
          // test() stays off this list because @types/node gives the subtest call t.test() the
          // same declaration. An unawaited subtest is cancelled when its parent test ends.
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      // NestJS modules are empty classes that carry only a @Module() decorator.
      '@typescript-eslint/no-extraneous-class': 'off',
      // tsc's noUnusedParameters also accepts an unused parameter whose name starts with an underscore.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],

      // Later entries win when several match the same pair of statements.
      '@stylistic/padding-line-between-statements': [
        'error',
        { blankLine: 'always', prev: '*', next: 'return' },
        { blankLine: 'always', prev: ['const', 'let'], next: '*' },
        { blankLine: 'any', prev: ['const', 'let'], next: ['const', 'let'] },
        { blankLine: 'always', prev: '*', next: 'multiline-block-like' },
        { blankLine: 'always', prev: 'multiline-block-like', next: '*' },
        // A case clause with a braced body counts as block-like, but case clauses need no blank line between them.
        { blankLine: 'any', prev: '*', next: ['case', 'default'] },
      ],
    },
  },
  {
    // Plain JavaScript files are not part of any tsconfig, so rules that need type information cannot run.
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },

  // Last, so that it turns off every formatting rule that would conflict with Prettier.
  prettierConfig,
);
