export * from './container-module.ts';
export * from './graph/index.ts';
export * from './webhook/index.ts';
