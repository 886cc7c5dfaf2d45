import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

describe('pino logger', () => {
  it('redacts secrets by configuration, at the top level and one level down, and keeps the message fields', () => {
    let written = '';
    const sink = new Writable({
      write(chunk, _encoding, done) {
        written += chunk.toString();
        done();
      },
    });
    const logger = createLogger('info', sink).child({
      tenantId: 't1',
      phoneNumberId: '1001',
      wamid: 'wamid.X',
    });
    logger.info(
      {
        accessToken: 'EAAG-top-secret',
        request: { authorization: 'Bearer EAAG-top-secret', appSecret: 'app-s3cret' },
      },
      'sending',
    );
    const line = JSON.parse(written.trim());
    expect(line).toMatchObject({
      level: 'info',
      msg: 'sending',
      tenantId: 't1',
      phoneNumberId: '1001',
      wamid: 'wamid.X',
      accessToken: '[redacted]',
    });
    expect(line.request).toEqual({ authorization: '[redacted]', appSecret: '[redacted]' });
    expect(written).not.toMatch(/top-secret|s3cret/);
  });
});
