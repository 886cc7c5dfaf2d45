#!/usr/bin/env node
// `prepack` of every publishable package (run by `pnpm pack` / `pnpm publish` in the package's folder):
// builds it with the workspace's TypeScript, then makes its declaration files import `./x.js`.
// TypeScript rewrites `./x.ts` to `./x.js` in the JavaScript it emits (rewriteRelativeImportExtensions) but
// not in `.d.ts` files; TypeScript 5 and 6 resolve either form, while older compilers and other tools that
// read declarations (API extractors, bundlers of types) expect the `.js` form every published package uses.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');

const built = spawnSync(process.execPath, [tsc, '-b', 'tsconfig.json'], { stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);

/** `from './x.ts'`, `import('./x.ts')`: relative specifiers only; a package's `x.ts` is left alone. */
const relativeTsSpecifier = /((?:from|import)\s*\(?\s*)(['"])(\.\.?\/[^'"]*?)\.([mc]?)ts\2/g;

const rewriteDeclarationImports = (text) =>
  text.replace(
    relativeTsSpecifier,
    (_, keyword, quote, path, flavour) => `${keyword}${quote}${path}.${flavour}js${quote}`,
  );

const declarationFiles = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return declarationFiles(path);
    return /\.d\.[mc]?ts$/.test(entry.name) ? [path] : [];
  });

let rewritten = 0;
for (const file of declarationFiles('dist')) {
  const text = readFileSync(file, 'utf8');
  const next = rewriteDeclarationImports(text);
  if (next !== text) {
    writeFileSync(file, next);
    rewritten += 1;
  }
}
console.log(`prepack: built; ${rewritten} declaration file(s) now import ./x.js`);
