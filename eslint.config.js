import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'bench/results/**', '.test-artifacts/**'] },
  js.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        // Package tsconfigs build src; tsconfig.tests.json covers the tests they exclude.
        project: [
          './packages/*/tsconfig.json',
          './packages/drivers/*/tsconfig.json',
          './tsconfig.tests.json',
        ],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Services never reach into the HTTP layer (STYLE.md §2); packages never import test tooling.
    files: ['packages/control-plane/src/services/**/*.ts', 'packages/control-plane/src/store/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/http/**', 'fastify'] }] },
  },
  {
    files: ['packages/*/src/**/*.ts', 'packages/*/src/**/*.tsx', 'packages/drivers/*/src/**/*.ts'],
    ignores: [
      'packages/*/src/**/*.test.ts',
      'packages/*/src/**/test-*.ts',
      'packages/drivers/*/src/**/*.test.ts',
      'packages/drivers/*/src/**/test-*.ts',
      'packages/testkit/src/**',
    ],
    rules: { 'no-restricted-imports': ['error', { patterns: ['vitest', '@shellwego/testkit'] }] },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
