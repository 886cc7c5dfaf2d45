import type { FlowTokens } from './flows/flow-tokens.port.ts';
import { ProfileFlowResponder } from './flows/profile-flow.ts';
import type { InboundResponder } from './handle-inbound/inbound-responder.port.ts';
import { HeldRequestsResponder } from './loans/held-requests.ts';
import { HelpResponder } from './loans/help.ts';
import type { LoanActions } from './loans/loan-actions.ts';
import { LoanConversation } from './loans/loan-conversation.ts';
import { OptOutResponder } from './loans/opt-out.ts';
import type { Clock } from './ports/clock.port.ts';
import type { IdGenerator } from './ports/id-generator.port.ts';
import type { Logger } from './ports/logger.port.ts';

/**
 * The loan bot's behaviour, in the order it is asked (the main menu answers what none takes): opt-out
 * first, so STOP always works, then help, then the profile Flow, then the loan conversation, then the
 * requests held for the sender (shown before the menu).
 */
export const loanBotResponders = (dependencies: {
  readonly actions: LoanActions;
  readonly ids: IdGenerator;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Absent when the deployment has no Flows key: "My profile" then says it is not available. */
  readonly flowTokens: FlowTokens | undefined;
  readonly defaultProfileFlowId: string | undefined;
}): readonly InboundResponder[] => [
  new OptOutResponder(),
  new HelpResponder(),
  new ProfileFlowResponder({
    tokens: dependencies.flowTokens,
    clock: dependencies.clock,
    logger: dependencies.logger,
    ...(dependencies.defaultProfileFlowId === undefined
      ? {}
      : { defaultFlowId: dependencies.defaultProfileFlowId }),
  }),
  new LoanConversation({ actions: dependencies.actions, ids: dependencies.ids }),
  new HeldRequestsResponder({ actions: dependencies.actions }),
];
