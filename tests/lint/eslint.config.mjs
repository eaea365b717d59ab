// The pages' code has no build step: what a compiler would catch (a name never declared, an
// import that is not there, a shadowed name) fails only in the browser. ESLint catches it here.
import globals from 'globals';

const rules = {
  'no-undef': 'error',
  'no-shadow': 'error',
  'no-redeclare': 'error',
  'no-import-assign': 'error',
  'no-unused-vars': ['error', { caughtErrors: 'none', argsIgnorePattern: '^_' }],
  'no-unreachable': 'error',
  'no-dupe-keys': 'error',
  'no-self-assign': 'error',
  eqeqeq: ['error', 'always', { null: 'ignore' }],
};

export default [
  // Leaflet, as npm ships it: not ours to lint.
  { ignores: ['web/pages/leaflet-*.js'] },
  {
    // Every page's script is an ES module importing hub.js.
    files: ['web/pages/**/*.js'],
    ignores: ['web/pages/widget.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...globals.browser } },
    rules,
  },
  {
    // The embed script runs on customers' sites as a classic script.
    files: ['web/pages/widget.js'],
    languageOptions: { ecmaVersion: 2020, sourceType: 'script', globals: { ...globals.browser } },
    rules,
  },
];
