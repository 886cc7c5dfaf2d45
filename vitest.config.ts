import { defineConfig } from 'vitest/config';

// Workspace packages expose their TypeScript sources under this export condition, so tests run the
// code as written instead of whatever was last built into dist/.
const sourceCondition = '@prestabot/source';

const shared = {
  resolve: { conditions: [sourceCondition, 'module', 'node', 'default'] },
  ssr: { resolve: { conditions: [sourceCondition, 'module', 'node', 'default'] } },
};

export default defineConfig({
  test: {
    projects: [
      {
        ...shared,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.spec.ts'],
          exclude: ['**/*.prop.spec.ts', '**/*.int.spec.ts', '**/*.e2e.spec.ts', '**/node_modules/**'],
        },
      },
      {
        ...shared,
        test: { name: 'property', include: ['packages/*/src/**/*.prop.spec.ts'], testTimeout: 120_000 },
      },
      {
        ...shared,
        test: {
          name: 'integration',
          include: ['packages/*/src/**/*.int.spec.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        ...shared,
        // Real processes held to real time (a number's rate as the fake Graph API counts it on arrival):
        // one file at a time, and `pnpm test` runs them after the other projects, so no other suite's load
        // adds its delays to theirs.
        test: {
          name: 'end-to-end',
          include: ['packages/*/src/**/*.e2e.spec.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
