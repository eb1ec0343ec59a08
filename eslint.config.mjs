// ESLint 9 flat config with typescript-eslint 8 (`defineConfig` from eslint/config: typescript-eslint
// deprecated its own `tseslint.config()` helper in its favour).
//
// Type-aware linting (`recommendedTypeChecked`) on purpose: no-floating-promises and
// no-misused-promises catch the un-awaited close / enqueue / shutdown calls that hurt most in a
// pipeline of async workers. It costs ~9 s on 2 cores instead of ~1.5 s, which is fine for CI.
// Two TypeScript setups, two ways to find types:
//   - lib and app sources: `projectService` (the tsserver engine). It follows the project
//     references to the *sources* of other libs, so it works before anything is built.
//   - test code (libs/*/src/**/*.test.ts, apps/*/src/**/*.test.ts, test/, bench/): these files are
//     excluded from the lib tsconfigs and live in test/tsconfig.json, which no tsconfig references,
//     so the project service cannot find them. They use `project: test/tsconfig.json`, which
//     resolves @linebacker/* through the built dist/*.d.ts, exactly like `tsc -p test`: run
//     `tsc -b` before linting them (npm test does: typecheck runs before lint).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

const testCode = ['libs/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts'];

export default defineConfig(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      'coverage/**',
      'bench/results/**',
      '.pm2/**',
      '.linebacker/**',
      'test-results/**',
    ],
  },

  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    files: testCode,
    languageOptions: {
      parserOptions: {
        projectService: false,
        project: ['./test/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    // tests read untyped JSON bodies and rows and assert on them; the no-unsafe-* family would
    // only force casts there. Promise rules (no-floating-promises, ...) stay on.
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // stand-ins for async dependencies (handlers, probes) are often async without awaiting
      '@typescript-eslint/require-await': 'off',
    },
  },

  // Files in no TypeScript program: JavaScript, and the vitest config (.mts, see its header).
  {
    files: ['**/*.{js,mjs,cjs}', 'vitest.config.mts'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module', globals: nodeGlobals() },
  },
  {
    // the PM2 ecosystem file is CommonJS (and the reason the root package.json is not "type": "module")
    files: ['ecosystem.config.js', '**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        ...nodeGlobals(),
        require: 'readonly',
        module: 'writable',
        exports: 'writable',
        __dirname: 'readonly',
        __filename: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);

/** The few Node globals the plain JS files use (the `globals` package is not a direct dependency). */
function nodeGlobals() {
  return {
    process: 'readonly',
    console: 'readonly',
    Buffer: 'readonly',
    URL: 'readonly',
    setTimeout: 'readonly',
    clearTimeout: 'readonly',
    setInterval: 'readonly',
    clearInterval: 'readonly',
  };
}
