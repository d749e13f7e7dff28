import { schemas } from '@shellwego/core';
import { changePassword, passwordStatus } from '../../services/password-change.js';
import { defineRoute } from '../route.js';

export const accountRoutes = [
  defineRoute({
    method: 'GET',
    url: '/v1/me/password',
    summary:
      'Whether the caller still has the password printed at the first start (the dashboard then asks to change it)',
    tag: 'auth',
    access: 'user',
    response: schemas.passwordStatus,
    handler: ({ actor, services }) => passwordStatus(services.deps, actor),
  }),
  defineRoute({
    method: 'POST',
    url: '/v1/me/password',
    summary:
      "Change the caller's password (a session only, not an API token); needs the current one. Every session of " +
      'the user ends (their refresh tokens stop working); the answer is a new session for the caller',
    tag: 'auth',
    access: 'user',
    body: schemas.passwordChange,
    response: schemas.tokenPair,
    handler: async ({ actor, body, services }) => {
      await changePassword(services.deps, actor, body.current_password, body.new_password);
      return services.auth.restartSessions(actor.userId);
    },
  }),
];
