import { Readable } from 'node:stream';

/**
 * Wraps the client's request body for one attempt upstream. Nothing is read from the client until undici pulls
 * the first chunk, which it does only once a connection stands; so when an attempt fails before that, the body is
 * untouched and the request can go to another upstream. `onStart` records that the body began to flow (no retry
 * past that point). Backpressure passes through: the client is paused while the upstream is slow.
 */
export function lazyRequestBody(source: Readable, onStart: () => void): Readable {
  let isStarted = false;
  let isEnded = false;
  const onData = (chunk: Buffer): void => {
    if (!body.push(chunk)) source.pause();
  };
  const onEnd = (): void => {
    isEnded = true;
    body.push(null);
  };
  const onError = (error: Error): void => {
    body.destroy(error);
  };
  const onClose = (): void => {
    if (!isEnded) body.destroy(new Error('the client closed the request before its body ended'));
  };
  const body: Readable = new Readable({
    read() {
      if (isStarted) {
        source.resume();
        return;
      }
      isStarted = true;
      onStart();
      source.on('data', onData);
      source.once('end', onEnd);
      source.once('error', onError);
      source.once('close', onClose);
    },
    destroy(error, callback) {
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onError);
      source.off('close', onClose);
      callback(error);
    },
  });
  return body;
}
