// The dependency rule, checked by `npm run lint`: api → workflows → contracts ← activities → infra,
// and no cycle anywhere. Type-only imports count: a cycle of types still means two modules
// that cannot be read, moved or tested one without the other (ESLint's import plugins skip
// them, which is why this is dependency-cruiser). Workflows' own sandbox rules (no Node
// built-ins, activities as types only) are ESLint's, in eslint.config.js.

/** The composition roots: they wire the layers together, so they may import any of them. */
const COMPOSITION_ROOTS = ['^infra/main\\.ts$', '^infra/services\\.ts$'];

export default {
  forbidden: [
    {
      name: 'no-cycle',
      comment: 'Modules that import each other, even only for types. Move what both need into a module of its own.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'contracts-stand-alone',
      comment: 'contracts/ is sandbox-safe and shared by every layer: it imports zod, search-attribute keys and itself, nothing else.',
      severity: 'error',
      from: { path: '^contracts/' },
      to: { pathNot: ['^contracts/', '^node_modules/zod/', '^node_modules/@temporalio/common/'] },
    },
    {
      name: 'workflows-below-api',
      comment: 'Workflows are called by the API and the worker; they know neither (nor infra: they only decide).',
      severity: 'error',
      from: { path: '^workflows/' },
      to: { path: '^(api|infra|workers)/' },
    },
    {
      name: 'activities-below-workflows',
      comment: 'Activities act for workflows but never import them: what both need is in contracts/.',
      severity: 'error',
      from: { path: '^activities/' },
      to: { path: '^(workflows|api|workers)/' },
    },
    {
      name: 'infra-at-the-bottom',
      comment: 'infra/ is connections and config for the layers above it; only its composition roots wire them.',
      severity: 'error',
      from: { path: '^infra/', pathNot: COMPOSITION_ROOTS },
      to: { path: '^(activities|workflows|api|workers)/' },
    },
  ],
  options: {
    // Type-only imports are dependencies too (see the top of this file).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // node_modules is a symlink in worktrees: keep its paths as node_modules/…, not where it points.
    preserveSymlinks: true,
    doNotFollow: { path: '(^|/)node_modules/' },
    exclude: { path: '^(\\.data|\\.tools|\\.scratch|dist|coverage)/' },
  },
};
