import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  ServerFeaturesDto,
  ServerMediaTypesResponseDto,
  ServerPingResponse,
  ServerVersionResponseDto,
} from '@immish/contracts';
import { MEDIA_TYPES } from '@immish/media';
import type { FastifyPluginAsync } from 'fastify';
import type { LinksApiDeps } from '../deps.ts';

/** Immich reports its version here; the CLI checks it. immish speaks Immich 3.1's API. */
export const IMMICH_API_VERSION = { major: 3, minor: 1, patch: 0, prerelease: null };

export const serverRoutes =
  (_deps: LinksApiDeps): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const pub = { public: true };
    app.get(
      '/api/server/ping',
      { config: pub, schema: { tags: ['server'], response: { 200: ServerPingResponse } } },
      async () => ({ res: 'pong' }),
    );
    app.get(
      '/api/server/version',
      { config: pub, schema: { tags: ['server'], response: { 200: ServerVersionResponseDto } } },
      async () => IMMICH_API_VERSION,
    );
    app.get(
      '/api/server/media-types',
      { config: pub, schema: { tags: ['server'], response: { 200: ServerMediaTypesResponseDto } } },
      async () => ({
        image: [...MEDIA_TYPES.image],
        video: [...MEDIA_TYPES.video],
        sidecar: [...MEDIA_TYPES.sidecar],
      }),
    );
    app.get(
      '/api/server/features',
      { config: pub, schema: { tags: ['server'], response: { 200: ServerFeaturesDto } } },
      async () => ({
        configFile: false,
        duplicateDetection: false,
        email: false,
        facialRecognition: false,
        importFaces: false,
        map: false,
        oauth: false,
        oauthAutoLaunch: false,
        ocr: false,
        passwordLogin: false,
        realtimeTranscoding: false,
        reverseGeocoding: false,
        search: false,
        sidecar: false,
        smartSearch: false,
        trash: true,
      }),
    );
  };
