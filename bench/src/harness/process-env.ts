/** A variable the benchmark's stand-in servers and workers must be given, as the services are. */
export function requiredEnv(script: string, name: string): string {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${script}: ${name} is not set`);
  return value;
}

/** BullMQ's connection and key prefix from REDIS_URL and QUEUE_PREFIX. */
export function queueSettingsFromEnv(script: string): { connection: { host: string; port: number }; prefix: string } {
  const redis = new URL(requiredEnv(script, 'REDIS_URL'));
  return {
    connection: { host: redis.hostname, port: Number(redis.port) },
    prefix: requiredEnv(script, 'QUEUE_PREFIX'),
  };
}
