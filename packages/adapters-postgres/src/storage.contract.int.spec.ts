import { describeStorageContracts } from '@prestabot/application/testing';
import { describeOnEachDriver } from './testing/each-driver.ts';

// Every storage port's contract, unchanged, against one migrated database per driver. The harness
// shares the database between tests; each test seeds fresh tenants, so none sees another's rows.
describeOnEachDriver('storage contracts', (context, driver) => {
  describeStorageContracts(driver.name, async () => ({ ...context().storage, close: async () => {} }));
});
