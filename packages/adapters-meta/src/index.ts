export * from './container-module.ts';
export * from './flows/index.ts';
export * from './graph/index.ts';
export * from './webhook/index.ts';
