// Lint rules. The one that matters most: workflow code must stay deterministic, so workflows/
// may import only the Temporal workflow SDK, other workflow modules and type-only contracts.
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'sweeps/**', 'test-results/**', 'asm/**', '**/*.js', '**/*.cjs'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflows are deterministic: no Node built-ins or I/O.' })),
          patterns: [
            {
              regex: '^(?!@temporalio/(workflow|common)$|\\./|\\.\\./activities/contracts\\.js$|\\.\\./core/types\\.js$).*',
              message: 'Workflows may import only @temporalio/workflow, workflow modules and type-only contracts.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'fetch', message: 'No I/O in workflows: use an activity.' },
        { name: 'setInterval', message: 'Use workflow sleep/condition.' },
        { name: 'process', message: 'No process access in workflows.' },
      ],
    },
  },
);
