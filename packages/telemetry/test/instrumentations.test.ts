import { describe, expect, it } from 'vitest';
import { INSTRUMENTED_MODULES, createInstrumentations } from '../src/instrumentations.js';

interface WithDefinitions {
  getModuleDefinitions(): { name: string }[];
  disable(): void;
}

describe('createInstrumentations', () => {
  it('patches exactly the modules the ESM loader hook is told to wrap', () => {
    const instrumentations = createInstrumentations() as unknown as WithDefinitions[];
    const patched = instrumentations.flatMap((i) => i.getModuleDefinitions().map((d) => d.name));
    for (const instrumentation of instrumentations) instrumentation.disable();
    expect([...new Set(patched)].sort()).toEqual([...INSTRUMENTED_MODULES].sort());
  });
});
