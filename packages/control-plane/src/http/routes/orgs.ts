import { z } from 'zod';
import { schemas } from '@shellwego/core';
import { defineRoute } from '../route.js';

const orgParam = z.strictObject({ org: schemas.idParam });
const memberParam = z.strictObject({ org: schemas.idParam, user: schemas.idParam });

export const orgRoutes = [
  defineRoute({
    method: 'POST',
    url: '/v1/orgs',
    summary: 'Create an organization; the caller becomes its owner',
    tag: 'orgs',
    access: 'user',
    body: schemas.orgCreate,
    response: schemas.org,
    status: 201,
    handler: ({ actor, body, services }) => services.orgs.create(actor, body.name),
  }),
  defineRoute({
    method: 'GET',
    url: '/v1/orgs',
    summary: "The caller's organizations",
    tag: 'orgs',
    access: 'user',
    response: z.object({ items: z.array(schemas.org) }),
    handler: async ({ actor, services }) => ({ items: await services.orgs.list(actor) }),
  }),
  defineRoute({
    method: 'GET',
    url: '/v1/orgs/:org',
    summary: 'One organization, by name or id',
    tag: 'orgs',
    access: 'tenant',
    params: orgParam,
    response: schemas.org,
    handler: ({ actor, params, services }) => services.orgs.get(actor, params.org),
  }),
  defineRoute({
    method: 'GET',
    url: '/v1/orgs/:org/members',
    summary: 'Members and their roles',
    tag: 'orgs',
    access: 'tenant',
    params: orgParam,
    response: z.object({ items: z.array(schemas.member) }),
    handler: async ({ actor, params, services }) => ({
      items: await services.orgs.listMembers(actor, params.org),
    }),
  }),
  defineRoute({
    method: 'POST',
    url: '/v1/orgs/:org/members',
    summary: 'Add an existing user to the organization',
    tag: 'orgs',
    access: 'tenant',
    params: orgParam,
    body: schemas.memberAdd,
    response: schemas.member,
    status: 201,
    handler: ({ actor, params, body, services }) => services.orgs.addMember(actor, params.org, body),
  }),
  defineRoute({
    method: 'PATCH',
    url: '/v1/orgs/:org/members/:user',
    summary: "Change a member's role",
    tag: 'orgs',
    access: 'tenant',
    params: memberParam,
    body: schemas.memberPatch,
    response: schemas.member,
    handler: ({ actor, params, body, services }) =>
      services.orgs.setRole(actor, params.org, params.user, body.role),
  }),
  defineRoute({
    method: 'DELETE',
    url: '/v1/orgs/:org/members/:user',
    summary: 'Remove a member',
    tag: 'orgs',
    access: 'tenant',
    params: memberParam,
    response: null,
    handler: ({ actor, params, services }) => services.orgs.removeMember(actor, params.org, params.user),
  }),
  defineRoute({
    method: 'POST',
    url: '/v1/invitations',
    summary: 'Invite someone by e-mail; the token lets them sign up into the organization',
    tag: 'orgs',
    access: 'tenant',
    body: schemas.invitationCreate,
    response: schemas.invitation,
    status: 201,
    handler: ({ actor, body, services }) => services.orgs.invite(actor, body),
  }),
];
