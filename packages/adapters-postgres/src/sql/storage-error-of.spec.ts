import { describe, expect, it } from 'vitest';
import { storageErrorOf } from './storage-error-of.ts';

const serverError = (code: string, fields: Record<string, string> = {}) =>
  Object.assign(new Error(`server says ${code}`), { code, ...fields });

describe(storageErrorOf, () => {
  it.each([
    ['23505', 'duplicate'],
    ['23503', 'constraint'],
    ['23514', 'constraint'],
    ['23502', 'constraint'],
    ['42501', 'constraint'],
    ['40001', 'retryable'],
    ['40P01', 'retryable'],
    ['55P03', 'retryable'],
    ['08000', 'unavailable'],
    ['08006', 'unavailable'],
    ['08P01', 'unavailable'],
    ['57P01', 'unavailable'],
    ['57P02', 'unavailable'],
    ['57P03', 'unavailable'],
    ['53300', 'unavailable'],
    // The data itself refused: invalid json, a character the encoding lacks, a row over an index's limit.
    ['22P02', 'constraint'],
    ['22021', 'constraint'],
    ['54000', 'constraint'],
    ['42P01', 'unexpected'],
    ['XX000', 'unexpected'],
  ])('maps SQLSTATE %s to %s', (code, reason) => {
    expect(storageErrorOf(serverError(code))).toMatchObject({ type: 'storage_error', reason });
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND'])(
    'maps the network failure %s to unavailable',
    (code) => {
      expect(storageErrorOf(Object.assign(new Error('connect failed'), { code }))).toMatchObject({
        reason: 'unavailable',
      });
    },
  );

  it.each([
    'Connection terminated unexpectedly',
    'timeout exceeded when trying to connect',
    'Client has encountered a connection error and is not queryable',
    'Cannot use a pool after calling end on the pool',
    'PGlite is closed',
  ])('maps the lost connection "%s" to unavailable', (message) => {
    expect(storageErrorOf(new Error(message))).toMatchObject({ reason: 'unavailable' });
  });

  it('names the constraint and table, never the values in the message', () => {
    const error = storageErrorOf(
      serverError('22P02', {
        message: 'invalid input syntax for type uuid: "EAAG-secret-token"',
        table: 'contacts',
        column: 'id',
      }),
    );
    expect(error).toMatchObject({ reason: 'constraint' });
    expect(error.message).toContain('SQLSTATE 22P02');
    expect(error.message).toContain('table contacts');
    expect(error.message).not.toContain('EAAG-secret-token');
    const duplicate = storageErrorOf(
      serverError('23505', {
        message: 'duplicate key value violates unique constraint "whatsapp_numbers_pkey"',
        constraint: 'whatsapp_numbers_pkey',
        detail: 'Key (phone_number_id)=(1065403522429) already exists.',
      }),
    );
    expect(duplicate.message).toContain('constraint whatsapp_numbers_pkey');
    expect(duplicate.message).not.toContain('1065403522429');
  });

  it.each(['3F000', '42P01', '42883'])(
    'tells to migrate when SQLSTATE %s says the schema is missing',
    (code) => {
      expect(storageErrorOf(serverError(code)).message).toContain('run prestabot migrate');
      expect(storageErrorOf(serverError('22P02')).message).not.toContain('migrate');
    },
  );

  it('treats anything else as unexpected, without throwing', () => {
    expect(storageErrorOf(new TypeError("Cannot read properties of undefined (reading 'x')"))).toMatchObject({
      reason: 'unexpected',
    });
    expect(storageErrorOf('a string was thrown')).toMatchObject({ reason: 'unexpected' });
    expect(storageErrorOf(undefined)).toMatchObject({ reason: 'unexpected' });
  });
});
