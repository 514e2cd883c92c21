import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Imports point down (docs/layout.md): a folder of src/ imports only folders of lower layers,
// never one of its own layer or above. Lowest first.
const layers = [
  ['config', 'errors', 'types', 'concurrency'],
  ['redis', 'observability'],
  ['gate', 'broker', 'db', 'queues', 'auth'],
  ['orders', 'pow', 'room'],
  ['recovery', 'events'],
  ['payments'],
  ['api', 'bridge', 'compensator'],
  ['cmd'],
];

// A new folder of src/ is placed in a layer before anything lints.
const unplaced = readdirSync(`${import.meta.dirname}/src`, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && !layers.flat().includes(entry.name))
  .map((entry) => `src/${entry.name}`);
if (unplaced.length > 0) {
  throw new Error(`eslint.config.mjs: place ${unplaced.join(', ')} in a layer of \`layers\``);
}

// One no-restricted-imports entry per folder and depth: a file in src/<folder>/ at depth d
// reaches the top of src/ with exactly d `../`, so the regex names the other folders exactly.
function layerRules() {
  const rank = (name) => layers.findIndex((layer) => layer.includes(name));
  const rules = [];
  for (const folder of layers.flat().filter((name) => name !== 'config')) {
    const above = layers.flat().filter((name) => rank(name) >= rank(folder) && name !== folder);
    if (above.length === 0) continue;
    const below = layers.slice(0, rank(folder)).map((layer) => layer.join(', '));
    for (let depth = 1; depth <= 3; depth++) {
      rules.push({
        files: [`src/${folder}/${'*/'.repeat(depth - 1)}*.ts`],
        // A test may reach across layers to build its inputs.
        ignores: ['src/**/*.test.ts'],
        rules: {
          'no-restricted-imports': [
            'error',
            {
              patterns: [
                {
                  regex: `^${'\\.\\./'.repeat(depth)}(${above.join('|')})(/|\\.js$)`,
                  message: `src/${folder} is in layer ${rank(folder)} of docs/layout.md: it imports only lower layers (${below.join(' < ') || 'none'}).`,
                },
              ],
            },
          ],
        },
      });
    }
  }
  // Config imports nothing from the domain: config.ts only its own groups in src/config/,
  // and they only each other.
  const configRule = (files, regex) => ({
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex, message: 'config imports nothing from src/ but src/config/.' }] },
      ],
    },
  });
  rules.push(configRule(['src/config.ts'], '^\\./(?!config/)'));
  rules.push(configRule(['src/config/*.ts'], '^\\.\\./'));
  return rules;
}

export default tseslint.config(
  { ignores: ['node_modules', 'dist', 'migrations', 'k6', 'coverage', 'test/artifacts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  // The waiting room's page (web/room/*.js): ES modules run by the browser as they are, no
  // build; their globals are the browser's.
  {
    files: ['web/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'clearTimeout',
          'crypto',
          'document',
          'fetch',
          'history',
          'location',
          'sessionStorage',
          'setInterval',
          'setTimeout',
          'URLSearchParams',
        ].map((name) => [name, 'readonly']),
      ),
    },
    rules: { 'no-console': 'error' },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'src/**/*.test.ts'],
    rules: { 'no-console': 'off' },
  },
  // Sizes a reader can hold: no file over 300 lines, no function over 80 (a test's describe
  // or it callback included: name its steps as functions instead).
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 300, skipBlankLines: false, skipComments: false }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: false, skipComments: false }],
    },
  },
  ...layerRules(),
);
