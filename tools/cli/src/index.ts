export { runCli, EXIT, type CliIo } from './run-cli.js';
