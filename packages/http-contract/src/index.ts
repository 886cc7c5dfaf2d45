export { prepareDeployment, type TestDeployment, type TestTenant } from './deployment.ts';
export { type HostUnderTest, type StartedHost, spawnHost } from './host-process.ts';
export { describeHttpContract } from './http-contract.ts';
export { inMemoryOutboundWorker } from './in-memory-outbound-worker.ts';
export { postInPieces } from './post-in-pieces.ts';
