import type { TenantId } from '@prestabot/domain';
import type { TenantRepositories, TenantUnitOfWork } from '../../ports/unit-of-work.port.ts';
import { agreementStore } from './agreement-store.ts';
import { contactProfileStore } from './contact-profile-store.ts';
import { contactStore } from './contact-store.ts';
import { conversationStore } from './conversation-store.ts';
import { flowKeyStore } from './flow-key-store.ts';
import { inboxStore } from './inbox-store.ts';
import { messageLog } from './message-log.ts';
import { numberStore } from './number-store.ts';
import { outboxStore } from './outbox-store.ts';
import { reminderStore } from './reminder-store.ts';
import { sealedSecretStore } from './sealed-secret-store.ts';
import type { State, StateAccess } from './state.ts';
import { templateStore } from './template-store.ts';
import { tenantStore } from './tenant-store.ts';

const storeFactories: {
  readonly [K in keyof TenantRepositories]: (tenantId: TenantId, state: State) => TenantRepositories[K];
} = {
  tenant: tenantStore,
  numbers: numberStore,
  contacts: contactStore,
  inbox: inboxStore,
  outbox: outboxStore,
  messages: messageLog,
  agreements: agreementStore,
  conversations: conversationStore,
  reminders: reminderStore,
  templates: templateStore,
  flowKeys: flowKeyStore,
  profiles: contactProfileStore,
  secrets: sealedSecretStore,
};

/** Each store is built on first use: most units of work touch one or two of them. */
const repositoriesOf = (tenantId: TenantId, state: State): TenantRepositories => {
  const repositories = {} as TenantRepositories;
  for (const [name, create] of Object.entries(storeFactories)) {
    Object.defineProperty(repositories, name, {
      enumerable: true,
      configurable: true,
      get: () => {
        const store = create(tenantId, state);
        Object.defineProperty(repositories, name, { value: store, enumerable: true });
        return store;
      },
    });
  }
  return repositories;
};

export const inMemoryUnitOfWork = (access: StateAccess): TenantUnitOfWork => ({
  run: (tenantId, work) => access.transaction((state) => work(repositoriesOf(tenantId, state))),
});
