import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/index.js';
import { capture } from './capture.js';

describe('createLogger', () => {
  it('writes JSON lines with service and a Cloud Logging severity', () => {
    const out = capture();
    const logger = createLogger({ service: 'web', level: 'info', destination: out.stream });
    logger.warn({ queue: 'default' }, 'queue redis can evict keys');
    logger.debug('not at this level');
    const [line] = out.lines();
    expect(out.lines()).toHaveLength(1);
    expect(line).toMatchObject({
      service: 'web',
      level: 'warn',
      severity: 'WARN',
      queue: 'default',
      msg: 'queue redis can evict keys',
    });
  });

  it('redacts credentials', () => {
    const out = capture();
    const logger = createLogger({ service: 'web', level: 'info', destination: out.stream });
    logger.info({ req: { headers: { authorization: 'Bearer s3cret', cookie: 'sid=1' } }, password: 'pw' }, 'request');
    const text = JSON.stringify(out.lines());
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('sid=1');
    expect(text).not.toContain('"pw"');
  });

  it('has no trace fields while tracing is off', () => {
    const out = capture();
    const logger = createLogger({ service: 'web', level: 'info', destination: out.stream });
    logger.info({ jobId: 'x' }, 'line');
    expect(Object.keys(out.lines()[0] ?? {}).filter((key) => key.startsWith('trace') || key === 'span_id')).toEqual([]);
  });
});
