import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.kafka/**', 'coverage/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'kafkajs', message: 'Only kafka/ may import kafkajs: use the kafka/ port.' }] },
      ],
    },
  },
  { files: ['kafka/**/*.ts'], rules: { 'no-restricted-imports': 'off' } },
  {
    files: ['**/*.ts'],
    ignores: ['cli/config.ts', 'test/**', 'scripts/**', 'bench/**', 'vitest.config.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Only cli/config.ts reads process.env; inject config.',
        },
      ],
    },
  },
);
