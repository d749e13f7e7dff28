import type { ResolvedRoute, RouteTarget } from '../routes/route-store.js';

/**
 * Weighted least-outstanding-requests: the upstream minimising (outstanding + 1) / weight. Hand-written because
 * undici's BalancedPool is weighted round-robin without a view of requests in flight, and it cannot skip upstreams
 * our health state has marked down. Weight 0 (draining) never gets a new request. Ties rotate with the route's
 * cursor so sequential requests spread. When every upstream is marked down, it still tries the least busy one
 * (a "panic mode", as Envoy has), since a stale mark must not turn into a 503 for a route that may well answer.
 */
export function pickTarget(
  route: ResolvedRoute,
  exclude: ReadonlySet<RouteTarget>,
  now: number,
): RouteTarget | undefined {
  const { targets } = route;
  const count = targets.length;
  if (count === 0) return undefined;
  const start = route.cursor++ % count;
  let best: RouteTarget | undefined;
  let bestScore = Infinity;
  let fallback: RouteTarget | undefined;
  let fallbackScore = Infinity;
  for (let i = 0; i < count; i++) {
    const target = targets[(start + i) % count]!; // index < count
    if (target.weight <= 0 || exclude.has(target) || target.upstream.isRetired) continue;
    const score = (target.upstream.outstanding + 1) / target.weight;
    if (target.upstream.isAvailable(now)) {
      if (score < bestScore) {
        best = target;
        bestScore = score;
      }
    } else if (score < fallbackScore) {
      fallback = target;
      fallbackScore = score;
    }
  }
  return best ?? fallback;
}
