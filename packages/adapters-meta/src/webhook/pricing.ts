import type { StatusPricing } from '@prestabot/domain';
import { defined } from '@prestabot/domain';
import * as z from 'zod';

/**
 * A status's `pricing` object. `billable`, `pricing_model` and `category` are what a bill needs; `type`
 * came with per-message pricing (July 2025). A pricing missing one of those is dropped, never the status.
 */
export const pricingSchema = z
  .looseObject({
    billable: z.boolean(),
    pricing_model: z.string().min(1),
    type: z.string().min(1).optional().catch(undefined),
    category: z.string().min(1),
  })
  .transform(
    (pricing): StatusPricing => ({
      billable: pricing.billable,
      pricingModel: pricing.pricing_model,
      ...defined({ type: pricing.type }),
      category: pricing.category,
    }),
  )
  .optional()
  .catch(undefined);
