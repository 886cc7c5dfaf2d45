export { type EdgeEnvironment, type EdgeProblem, openEdgeBot } from './edge-host.ts';
