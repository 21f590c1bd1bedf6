/**
 * Node options for a process counted under callgrind. Valgrind runs it some fifty times slower,
 * so V8's memory reducer, which judges by allocation per millisecond, takes a busy service for
 * an idle one: it starts memory-reducing mark-compacts and shrinks the young generation, and
 * the stretch counted then pays ten to twenty times the scavenges the same requests cost at
 * full speed (measured on the web: 90 to 216 scavenges over 5,000 requests with the reducer,
 * 8 to 10 without, against about 5 at full speed). Those land at random: two web processes with
 * telemetry off counted 5 % apart on the main thread and 20 % with V8's helper threads.
 */
export const CALLGRIND_NODE_ARGS: readonly string[] = ['--no-memory-reducer'];
