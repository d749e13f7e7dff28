import { brandingFor, brandingResponse } from '../../services/branding.js';
import { defineRoute } from '../route.js';

export const brandingRoutes = [
  defineRoute({
    method: 'GET',
    url: '/v1/branding',
    summary:
      "The operator's white-label branding from branding.yml in the data dir (name, logo, favicon, primary colour, font, footer); no credentials. `error` says why a bad file was refused",
    tag: 'platform',
    access: 'public',
    response: brandingResponse,
    handler: ({ services }) => brandingFor(services.deps).current(),
  }),
];
