import { z } from 'zod';

/**
 * Instance logs through the control plane. A node behind NAT cannot be dialled, so the control plane asks over the
 * node's watch socket (`logRequest`) and the agent dials back to `/v1/nodes/{node}/logs/{id}`, sending `logLine`s.
 */

/** Lines longer than this are cut (by the agent, and again by the control plane): one line is one frame. */
export const LOG_LINE_MAX_BYTES = 16 * 1024;

/** Sent on a node's watch WebSocket next to the desired-state messages. */
export const logRequest = z.object({
  type: z.literal('logs'),
  id: z.string().min(1).max(128),
  instance_id: z.string().min(1).max(128),
  follow: z.boolean(),
  /** How many of the last lines to send first. */
  tail: z.number().int().min(0).max(10_000).default(100),
});
export type LogRequest = z.infer<typeof logRequest>;

/** One line of an instance's output: a WebSocket text frame from the agent, and from the API. */
export const logLine = z.object({
  instance_id: z.string(),
  stream: z.enum(['stdout', 'stderr']),
  line: z.string(),
  /** ISO 8601; when the node read the line where the runtime keeps no times. */
  at: z.string(),
});
export type LogLine = z.infer<typeof logLine>;

/** `?follow=true|1`, anything else is false. */
const queryBoolean = z
  .enum(['true', 'false', '1', '0'])
  .optional()
  .transform((v) => v === 'true' || v === '1');

export const logQuery = z.strictObject({
  follow: queryBoolean.describe('keep streaming new lines (WebSocket only; a plain GET answers the tail)'),
  tail: z.coerce.number().int().min(1).max(10_000).default(100).describe('last lines of each instance'),
  instance: z.string().min(1).max(128).optional().describe('only this instance of the app'),
});
export type LogQuery = z.output<typeof logQuery>;
