import { fileURLToPath } from 'node:url';
import { runLocalStack } from './run-local-stack.js';

// dist/main.js sits three levels below the repository root.
const fromRoot = (path: string): string => fileURLToPath(new URL(`../../../${path}`, import.meta.url));

const stack = runLocalStack({
  webEntry: fromRoot('services/web/dist/main.js'),
  workerEntry: fromRoot('services/worker/dist/main.js'),
  cwd: fromRoot(''),
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => void stack.stop());
}
process.exit(await stack.done);
