/** Customer-service window: free-form messages are allowed for 24 hours after the user's last message. */
export const customerServiceWindowMs = 24 * 60 * 60 * 1000;

/**
 * The window is opened by the user's own messages only (their WhatsApp timestamps), never by ours.
 * A message exactly 24 hours old no longer opens it.
 */
export const isWindowOpen = (lastInboundAt: Date | undefined, now: Date): boolean =>
  lastInboundAt !== undefined && now.getTime() - lastInboundAt.getTime() < customerServiceWindowMs;
