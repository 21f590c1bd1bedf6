/** What a process can record about itself. */
export type ProfileKind = 'cpu' | 'heap-snapshot' | 'heap-sampling';

export const PROFILE_KINDS: readonly ProfileKind[] = ['cpu', 'heap-snapshot', 'heap-sampling'];

// The extensions Chrome DevTools and speedscope recognise for each format.
const EXTENSIONS: Readonly<Record<ProfileKind, string>> = {
  cpu: 'cpuprofile',
  'heap-snapshot': 'heapsnapshot',
  'heap-sampling': 'heapprofile',
};

/** Whether the kind records over a span of seconds (the heap snapshot is one instant). */
export function isTimed(kind: ProfileKind): boolean {
  return kind !== 'heap-snapshot';
}

/** The download's file name: the process, when, and the format's extension. */
export function profileFileName(processId: string, kind: ProfileKind, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/[-:]/g, '');
  return `${processId.replace(/[^\w.-]/g, '_')}-${stamp}.${EXTENSIONS[kind]}`;
}
