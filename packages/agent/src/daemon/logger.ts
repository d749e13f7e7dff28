/**
 * The logging the agent needs, satisfied by a pino Logger: the agent takes one from its caller (the CLI makes it
 * with the control plane's createLogger, to stderr) instead of depending on pino itself.
 */
export interface AgentLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: AgentLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
