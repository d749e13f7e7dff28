/** Tells the rollout controller which apps to look at now instead of at its next sweep. */
export class RolloutSignal {
  private listener: ((appId: string) => void) | undefined;

  wake(appId: string): void {
    this.listener?.(appId);
  }

  listen(fn: (appId: string) => void): void {
    this.listener = fn;
  }
}
