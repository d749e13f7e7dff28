import { z } from 'zod';
import { schemas } from '@shellwego/core';
import { defineRoute } from '../route.js';

const tokenId = z.strictObject({ id: schemas.idParam });

export const authRoutes = [
  defineRoute({
    method: 'POST',
    url: '/v1/auth/login',
    summary: 'Log in with e-mail and password',
    tag: 'auth',
    access: 'public',
    body: schemas.loginRequest,
    response: schemas.tokenPair,
    handler: ({ body, services }) => services.auth.login(body.email, body.password),
  }),
  defineRoute({
    method: 'POST',
    url: '/v1/auth/refresh',
    summary: 'Exchange a refresh token for a new pair (the old one stops working)',
    tag: 'auth',
    access: 'public',
    body: schemas.refreshRequest,
    response: schemas.tokenPair,
    handler: ({ body, services }) => services.auth.refresh(body.refresh_token),
  }),
  defineRoute({
    method: 'POST',
    url: '/v1/auth/signup',
    summary: 'Create an account (as the platform signup mode allows)',
    tag: 'auth',
    access: 'public',
    body: schemas.signupRequest,
    response: schemas.signupResponse,
    status: 201,
    handler: ({ body, services }) => services.auth.signup(body),
  }),
  defineRoute({
    method: 'GET',
    url: '/v1/me',
    summary: 'The caller and their organizations',
    tag: 'auth',
    access: 'user',
    response: schemas.me,
    handler: ({ actor, services }) => services.auth.me(actor),
  }),
  defineRoute({
    method: 'POST',
    url: '/v1/tokens',
    summary: 'Create an API token (swg_…), shown once',
    tag: 'tokens',
    access: 'user',
    body: schemas.tokenCreate.extend({ org: z.string().min(1).max(128).optional() }),
    response: schemas.apiTokenCreated,
    status: 201,
    handler: ({ actor, body, services }) => services.auth.createApiToken(actor, body),
  }),
  defineRoute({
    method: 'GET',
    url: '/v1/tokens',
    summary: "The caller's API tokens (never their values)",
    tag: 'tokens',
    access: 'user',
    response: z.object({ items: z.array(schemas.apiToken) }),
    handler: async ({ actor, services }) => ({ items: await services.auth.listApiTokens(actor) }),
  }),
  defineRoute({
    method: 'DELETE',
    url: '/v1/tokens/:id',
    summary: 'Revoke an API token',
    tag: 'tokens',
    access: 'user',
    params: tokenId,
    response: null,
    handler: ({ actor, params, services }) => services.auth.deleteApiToken(actor, params.id),
  }),
];
