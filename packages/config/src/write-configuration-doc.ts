import { writeFile } from 'node:fs/promises';
import { renderConfigurationDoc } from './render-configuration-doc.js';

// Run by `pnpm run docs:config` from the repository's root: writes the page to the path given.
const [path = 'docs/configuration.md'] = process.argv.slice(2);
await writeFile(path, renderConfigurationDoc());
console.log(`wrote ${path}`);
