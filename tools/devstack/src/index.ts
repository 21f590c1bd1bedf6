export { runLocalStack, type LocalStack, type LocalStackEndpoints, type LocalStackOptions } from './run-local-stack.js';
