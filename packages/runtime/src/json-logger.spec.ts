import { describe, expect, it } from 'vitest';
import { JsonLogger } from './json-logger.ts';

describe('JsonLogger', () => {
  it('writes JSON lines at or above its level, with bindings, and redacts secrets wherever they sit', () => {
    const lines: string[] = [];
    const logger = new JsonLogger('info', (line) => lines.push(line)).child({ tenantId: 't1' });
    logger.debug({}, 'hidden');
    logger.info(
      { accessToken: 'EAAG-secret', nested: { appSecret: 's3cr3t', ok: 1 }, list: [{ token: 'x' }] },
      'sent',
    );
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({
      level: 'info',
      service: 'prestabot',
      tenantId: 't1',
      msg: 'sent',
      accessToken: '[redacted]',
      nested: { appSecret: '[redacted]', ok: 1 },
      list: [{ token: '[redacted]' }],
    });
    expect(lines[0]).not.toMatch(/EAAG-secret|s3cr3t/);
  });
});
