/** Time as the executor sees it; injectable so backoff and crash-loop tests don't wait minutes. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
