import { localChangeFeed, type ChangeFeed } from '../../store/change-feed.js';

/**
 * Tells the rollout controller which apps to look at now instead of at its next sweep, here and on the other
 * control planes (the leader's controller acts; a node may report to any control plane). `*` asks for a sweep.
 */
export class RolloutSignal {
  private listener: ((appId: string) => void) | undefined;

  constructor(private readonly feed: ChangeFeed = localChangeFeed) {
    feed.onRemote('app', (appId) => this.listener?.(appId));
  }

  wake(appId: string): void {
    this.listener?.(appId);
    void this.feed.announce('app', appId);
  }

  listen(fn: (appId: string) => void): void {
    this.listener = fn;
  }
}
