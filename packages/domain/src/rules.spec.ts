import { describe, expect, it } from 'vitest';
import { advanceStatus } from './delivery-status.ts';
import { classifyGraphErrorCode } from './graph-error.ts';
import { parsePhoneNumberId, parseTenantId } from './ids.ts';
import { e164FromWaId, parsePhoneInput } from './phone.ts';
import { maskSecret } from './secrets.ts';
import { describeTokenStatus } from './tenant.ts';
import { isGreeting } from './text.ts';
import { isWindowOpen } from './window.ts';

describe('delivery status ordering', () => {
  it('only moves forward along sent < delivered < read', () => {
    expect(advanceStatus('accepted', 'read')).toBe('read');
    expect(advanceStatus('read', 'delivered')).toBe('read');
    expect(advanceStatus('delivered', 'sent')).toBe('delivered');
    expect(advanceStatus('sent', 'delivered')).toBe('delivered');
  });

  it('treats failed as terminal', () => {
    expect(advanceStatus('delivered', 'failed')).toBe('failed');
    expect(advanceStatus('failed', 'read')).toBe('failed');
  });
});

describe('24-hour window', () => {
  const now = new Date('2026-03-02T12:00:00Z');
  it('is open for 24 hours after the user last wrote, and closed without any message', () => {
    expect(isWindowOpen(new Date('2026-03-01T12:00:00.001Z'), now)).toBe(true);
    expect(isWindowOpen(new Date('2026-03-01T12:00:00.000Z'), now)).toBe(false);
    expect(isWindowOpen(undefined, now)).toBe(false);
  });
});

describe('secrets', () => {
  it('shows only a prefix and the length, and no prefix of a short secret', () => {
    expect(maskSecret('EAAGm0PX4ZCpsBAKZCZAzZBZCZAzZAZA')).toBe('EAAG…(32 chars)');
    expect(maskSecret('short-secret')).toBe('…(12 chars)');
    expect(maskSecret('')).toBe('(empty)');
  });

  it('describes token states the way the CLI prints them', () => {
    expect(describeTokenStatus({ kind: 'missing' })).toBe('NULL');
    expect(describeTokenStatus({ kind: 'empty' })).toBe('EMPTY');
    expect(describeTokenStatus({ kind: 'set', length: 212 })).toBe('SET (212 chars)');
    expect(
      describeTokenStatus({
        kind: 'invalid',
        length: 212,
        errorCode: 190,
        lastErrorAt: new Date('2026-03-02T10:00:00Z'),
      }),
    ).toBe('INVALID (last 190 at 2026-03-02T10:00:00.000Z)');
  });
});

describe('Graph error classes', () => {
  it.each([
    [130429, 'retryable'],
    [131000, 'retryable'],
    [4, 'retryable'],
    [190, 'token_invalid'],
    [131056, 'pair_rate_limited'],
    [131047, 'window_closed'],
    [131048, 'spam_limited'],
    [131049, 'marketing_limited'],
    [132015, 'template_stopped'],
    [132016, 'template_stopped'],
    [368, 'number_blocked'],
    [131031, 'number_blocked'],
    [100, 'permanent'],
    [132001, 'permanent'],
  ] as const)('%i is %s', (code, expected) => {
    expect(classifyGraphErrorCode(code)).toBe(expected);
  });
});

describe('ids and phones', () => {
  it('reads ids strictly', () => {
    expect(parseTenantId('3F2504E0-4F89-41D3-9A0C-0305E82C3301')._unsafeUnwrap()).toBe(
      '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
    );
    expect(parseTenantId('nope').isErr()).toBe(true);
    expect(parsePhoneNumberId('1065403522429').isOk()).toBe(true);
    expect(parsePhoneNumberId('10654 03522429').isErr()).toBe(true);
  });

  it('turns a wa_id into E.164', () => {
    expect(e164FromWaId('56912345678')._unsafeUnwrap()).toBe('+56912345678');
    expect(e164FromWaId('+56912345678').isErr()).toBe(true);
    expect(e164FromWaId('0123').isErr()).toBe(true);
  });

  it('reads phone numbers as people type them', () => {
    expect(parsePhoneInput('+56 9 1234 5678', '56')._unsafeUnwrap()).toBe('+56912345678');
    expect(parsePhoneInput('9 1234 5678', '56')._unsafeUnwrap()).toBe('+56912345678');
    expect(parsePhoneInput('(56) 9-1234-5678', '56')._unsafeUnwrap()).toBe('+56912345678');
    expect(parsePhoneInput('0056912345678', '56')._unsafeUnwrap()).toBe('+56912345678');
    expect(parsePhoneInput('llámame', '56').isErr()).toBe(true);
  });
});

describe('greetings', () => {
  it.each(['hola', 'Hola!', 'MENÚ', 'menu', ' inicio ', '¡Hola!'])('%s opens the menu', (text) => {
    expect(isGreeting(text)).toBe(true);
  });
  it.each(['hola que tal', 'prestar', ''])('%s does not', (text) => {
    expect(isGreeting(text)).toBe(false);
  });
});
