#!/usr/bin/env node
// The layer rules, checked on every import of every source file (`pnpm check:layers`, run by `pnpm test`):
// dependencies point inward — domain ← application ← adapters ← runtime ← hosts — and the inner layers
// stay free of drivers and frameworks. Imports are read with TypeScript's own pre-processor (imports,
// re-exports, dynamic imports, `import type` too), so no comment or string fools it. One line per
// violation; exit 1 if there is any.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));

/** How far out each package sits: a package may import only packages of a lower or equal rank. */
const rank = {
  domain: 0,
  application: 1,
  'adapters-meta': 2,
  'adapters-postgres': 2,
  'adapters-webcrypto': 2,
  runtime: 3,
  'fake-graph': 4,
  'host-express': 5,
  'host-edge': 5,
  'http-contract': 6,
  'fault-suite': 6,
  bench: 7,
};

/** Outside code each inner layer may use (tests aside: specs may use the test tools). */
const allowedOutside = {
  domain: ['neverthrow'],
  application: ['neverthrow'],
};
const testTools = ['vitest', '@fast-check/vitest', 'fast-check'];

/** Drivers, frameworks and the container: never in domain or application. */
const forbiddenInCore = [
  'pg',
  '@electric-sql/pglite',
  'undici',
  'express',
  'hono',
  'inversify',
  'reflect-metadata',
  'pino',
  'prom-client',
  'commander',
];

/** Test equipment: any spec may use it, product code only as `mayUseFakeGraph` says. */
const testEquipment = ['fake-graph', 'http-contract', 'fault-suite', 'bench'];

/**
 * The fake Graph API is test equipment: product packages reach it only through the demo (the sandbox),
 * never from code that runs in production; benchmarks live in their own package.
 */
const mayUseFakeGraph = (pkg, file) =>
  !(pkg in allowedOutside) &&
  (testEquipment.includes(pkg) ||
    /\/src\/demo\//.test(file) ||
    /\.(spec|prop\.spec|int\.spec|e2e\.spec)\.ts$/.test(file));

const isSpec = (file) => /\.spec\.ts$/.test(file) || /\/testing\//.test(file) || /\.fixture\.ts$/.test(file);

const sourceFiles = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory())
      return entry.name === 'node_modules' || entry.name === 'dist' ? [] : sourceFiles(path);
    return /\.(ts|mts|tsx)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`; `node:x` → `node:x`. */
const packageOf = (specifier) =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];

const problems = [];
const packagesDir = join(root, 'packages');
for (const pkg of readdirSync(packagesDir)) {
  if (!(pkg in rank)) {
    problems.push(`packages/${pkg}: not placed in a layer (add it to scripts/check-layers.mjs)`);
    continue;
  }
  for (const file of sourceFiles(join(packagesDir, pkg, 'src'))) {
    const shown = relative(root, file);
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName: specifier } of importedFiles) {
      if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
      const imported = packageOf(specifier);
      const say = (why) => problems.push(`${shown}: imports ${specifier}: ${why}`);
      if (imported.startsWith('@prestabot/')) {
        const target = imported.slice('@prestabot/'.length);
        if (!(target in rank)) say('no such package');
        else if (target === 'fake-graph' && !mayUseFakeGraph(pkg, shown))
          say('the fake Graph API is for the demo, benchmarks and tests only');
        else if (rank[target] > rank[pkg] && !(isSpec(shown) && testEquipment.includes(target)))
          say(`${pkg} may not depend on ${target}, which sits further out`);
        continue;
      }
      if (pkg in allowedOutside) {
        if (forbiddenInCore.includes(imported)) say(`${pkg} imports no driver, framework or container`);
        else if (!allowedOutside[pkg].includes(imported) && !(isSpec(shown) && testTools.includes(imported)))
          say(`${pkg} may import only ${allowedOutside[pkg].join(', ')} from outside`);
      }
    }
  }
}

// The same rule for what an install pulls in: a product package lists the fake as a dependency only when
// it ships a demo (src/demo), which is then the one place that imports it.
for (const pkg of Object.keys(rank).filter((name) => !testEquipment.includes(name))) {
  const dir = join(packagesDir, pkg);
  const { dependencies = {}, peerDependencies = {} } = JSON.parse(
    readFileSync(join(dir, 'package.json'), 'utf8'),
  );
  const listed = '@prestabot/fake-graph' in dependencies || '@prestabot/fake-graph' in peerDependencies;
  if (listed && !existsSync(join(dir, 'src', 'demo')))
    problems.push(
      `packages/${pkg}/package.json: depends on @prestabot/fake-graph without a demo: make it a devDependency`,
    );
}

for (const problem of problems) console.error(problem);
if (problems.length > 0) {
  console.error(`${problems.length} layer violation(s)`);
  process.exit(1);
}
console.log('layers: every import points inward');
