import { expect, it } from 'vitest';
import { runDemo } from './demo.ts';

// The README's quick start runs this script; nothing else would notice it stop halfway.
it('runs the sandbox conversation to the end, every check passing', { timeout: 120_000 }, async () => {
  const lines: string[] = [];
  const code = await runDemo((line) => lines.push(line));
  const checks = lines.filter((line) => line.startsWith('✓') || line.startsWith('✗'));
  expect(checks.filter((line) => line.startsWith('✗'))).toEqual([]);
  expect(checks.length).toBeGreaterThanOrEqual(7);
  expect(code).toBe(0);
});
