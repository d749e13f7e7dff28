import { z } from 'zod';
import { PaasError, schemas } from '@shellwego/core';
import { defineRoute } from '../route.js';

export const certificateRoutes = [
  defineRoute({
    method: 'GET',
    url: '/v1/edge/ca.pem',
    summary: "The local CA's certificate (PEM, public): trust it to reach apps on local names over HTTPS",
    tag: 'edge',
    access: 'public',
    response: z.string(),
    handler: ({ services }) => Promise.resolve(services.certificates.caPem),
  }),
  defineRoute({
    method: 'GET',
    url: '/v1/edge/certificates',
    summary: 'Every certificate the edges serve, with its private key (platform admins)',
    tag: 'edge',
    access: 'user',
    response: schemas.edgeCertificateList,
    handler: async ({ actor, services }) => {
      if (!actor.isPlatformAdmin) {
        throw new PaasError(
          'FORBIDDEN',
          "the edge's certificates are for the platform operator (a platform admin or their token)",
        );
      }
      return { items: await services.certificates.edgeCertificates() };
    },
  }),
];
