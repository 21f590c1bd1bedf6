// @ts-check
import js from '@eslint/js';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '.toolchain/**',
      'coverage/**',
      'test-artifacts/**',
      'eslint.config.js',
      '**/fixtures/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        project: [
          './packages/*/tsconfig.json',
          './example/*/tsconfig.json',
          './tools/*/tsconfig.json',
          './services/*/tsconfig.json',
          './bench/tsconfig.json',
          './tsconfig.test.json',
        ],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'import-x': importX },
    // Explicit, so no legacy resolver package is looked for when a module's exports map is unusual.
    settings: { 'import-x/resolver-next': [createNodeResolver()] },
    rules: {
      // The mistakes that bite in production: a promise nobody awaits, an async callback where
      // a sync one is expected, and modules that import each other.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      'import-x/no-cycle': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
);
