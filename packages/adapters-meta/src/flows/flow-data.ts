import { isJsonObject, type JsonObject } from '@prestabot/domain';
import * as z from 'zod';

/**
 * Data a Flow screen receives or sends back (a Flow message's navigate payload, a data_exchange
 * request), kept exactly as sent: see `isJsonObject` for why it is not rebuilt key by key.
 */
export const flowDataSchema = z.custom<JsonObject>(isJsonObject, { error: 'must be a JSON object' });
