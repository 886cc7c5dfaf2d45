import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The endpoint runs on the edge host (Deno) too: the module may use Web APIs only.
const moduleFiles = readdirSync(import.meta.dirname).filter(
  (name) => name.endsWith('.ts') && !name.endsWith('.spec.ts'),
);

describe('the flows module', () => {
  it('has source files to check', () => {
    expect(moduleFiles).toEqual(expect.arrayContaining(['flow-crypto.ts', 'flow-token.ts', 'keys.ts']));
  });

  it.each(moduleFiles)('%s uses no Node API', (name) => {
    const source = readFileSync(join(import.meta.dirname, name), 'utf8');

    expect(source).not.toMatch(/from ['"](node:|crypto['"]|buffer['"]|fs['"])/);
    expect(source).not.toMatch(/\b(Buffer|require|process|__dirname)\b/);
  });

  it.each(moduleFiles)('%s loads only its siblings, the domain and zod at run time', (name) => {
    const source = readFileSync(join(import.meta.dirname, name), 'utf8');
    // `import type` is erased, so it may name any module.
    const loaded = Array.from(
      source.matchAll(/^(?:import|export) (?!type )[^;]*?from '([^']+)'/gm),
      ([, specifier]) => specifier,
    );

    for (const specifier of loaded) {
      expect(specifier).toMatch(/^(\.\/[\w-]+\.ts|@prestabot\/domain|zod)$/);
    }
  });
});
