export * from './webhook/index.ts';
