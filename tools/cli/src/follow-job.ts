import { EventSourceParserStream } from 'eventsource-parser/stream';
import { ApiError, open, type ApiTarget } from './api-client.js';

/** One event of a job's stream: state, active, progress, retrying, completed, failed or cancelled. */
export interface JobEvent {
  readonly type: string;
  readonly data: unknown;
}

/**
 * Follows a job's Server-Sent Events until the stream ends (the job finished), calling `onEvent`
 * for each; resolves with the last event.
 */
export async function followJob(
  target: ApiTarget,
  eventsPath: string,
  onEvent: (event: JobEvent) => void,
): Promise<JobEvent | undefined> {
  const response = await open(target, eventsPath, { headers: { accept: 'text/event-stream' } });
  if (!response.ok || !response.body) throw new ApiError(response.status, undefined, eventsPath);
  let last: JobEvent | undefined;
  const events = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
  for await (const message of events) {
    last = { type: message.event ?? 'message', data: message.data ? (JSON.parse(message.data) as unknown) : null };
    onEvent(last);
  }
  return last;
}
