import { parseTimeZone, type TimeZone } from './calendar.ts';

export const zone = (name: string): TimeZone => parseTimeZone(name)._unsafeUnwrap();

/**
 * Zones where date arithmetic goes wrong: DST in either hemisphere (Santiago changes offset twice a year),
 * a half-hour DST shift (Lord Howe), quarter-hour offsets (Kathmandu, Chatham), none at all (UTC).
 */
export const awkwardZones: readonly TimeZone[] = [
  'America/Santiago',
  'America/Mexico_City',
  'America/Sao_Paulo',
  'America/New_York',
  'Europe/Madrid',
  'Australia/Lord_Howe',
  'Asia/Kathmandu',
  'Pacific/Chatham',
  'UTC',
].map(zone);
