import { DiagLogLevel } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/index.js';
import { diagLogLevel, diagnosticsLogger } from '../src/diagnostics-logger.js';
import { capture } from './capture.js';

describe('diagnosticsLogger', () => {
  it("writes the SDK's messages as JSON lines of the process logger, marked as OpenTelemetry's", () => {
    const out = capture();
    const diag = diagnosticsLogger(createLogger({ service: 'worker', level: 'info', destination: out.stream }));
    diag.error('export failed:', new Error('connect ECONNREFUSED 127.0.0.1:4318'));
    diag.warn('dropped %d spans', 12);
    diag.debug('not at this level');
    const lines = out.lines();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ severity: 'ERROR', component: 'opentelemetry', service: 'worker' });
    expect(lines[0]?.['msg']).toContain('ECONNREFUSED');
    expect(lines[1]).toMatchObject({ severity: 'WARN', msg: 'dropped 12 spans' });
  });

  it('maps OTEL_LOG_LEVEL values to the API levels', () => {
    expect(diagLogLevel('warn')).toBe(DiagLogLevel.WARN);
    expect(diagLogLevel('none')).toBe(DiagLogLevel.NONE);
    expect(diagLogLevel('all')).toBe(DiagLogLevel.ALL);
  });
});
