import Type from 'typebox';
import { IsoDateTime, Uuid } from '../common.ts';
import { Permission } from './permissions.ts';

// Immich-compatible shapes (reference/immich-openapi-3.1.0.json).
export const AvatarColor = Type.Enum([
  'primary',
  'pink',
  'red',
  'yellow',
  'blue',
  'green',
  'purple',
  'orange',
  'gray',
  'amber',
]);

export const UserResponseDto = Type.Object({
  id: Uuid,
  email: Type.String(),
  name: Type.String(),
  avatarColor: AvatarColor,
  profileImagePath: Type.String(),
  profileChangedAt: IsoDateTime,
});
export type UserResponseDto = Type.Static<typeof UserResponseDto>;

export const UserAdminResponseDto = Type.Object({
  id: Uuid,
  email: Type.String(),
  name: Type.String(),
  avatarColor: AvatarColor,
  profileImagePath: Type.String(),
  profileChangedAt: IsoDateTime,
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
  deletedAt: Type.Union([IsoDateTime, Type.Null()]),
  isAdmin: Type.Boolean(),
  license: Type.Null(),
  oauthId: Type.String(),
  quotaSizeInBytes: Type.Union([Type.Integer(), Type.Null()]),
  quotaUsageInBytes: Type.Union([Type.Integer(), Type.Null()]),
  shouldChangePassword: Type.Boolean(),
  status: Type.Union([Type.Literal('active'), Type.Literal('removing'), Type.Literal('deleted')]),
  storageLabel: Type.Union([Type.String(), Type.Null()]),
});
export type UserAdminResponseDto = Type.Static<typeof UserAdminResponseDto>;

export const UserAdminCreateDto = Type.Object(
  {
    email: Type.String({ format: 'email', maxLength: 320 }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    isAdmin: Type.Optional(Type.Boolean()),
    quotaSizeInBytes: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
    avatarColor: Type.Optional(Type.Union([AvatarColor, Type.Null()])),
    notify: Type.Optional(Type.Boolean()),
    shouldChangePassword: Type.Optional(Type.Boolean()),
    storageLabel: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
  },
  { additionalProperties: false },
);
export type UserAdminCreateDto = Type.Static<typeof UserAdminCreateDto>;

export const ApiKeyResponseDto = Type.Object({
  id: Uuid,
  name: Type.String(),
  permissions: Type.Array(Permission),
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
});
export type ApiKeyResponseDto = Type.Static<typeof ApiKeyResponseDto>;

export const ApiKeyCreateDto = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 200 })),
    // Immich requires the list; immish defaults it to `all` (what a full key and the Immich CLI need). An unknown
    // name is a 400 (the enum); more than the calling key has is a 400 too (domain: assertCanGrant).
    permissions: Type.Optional(Type.Array(Permission, { minItems: 1, maxItems: 200 })),
  },
  { additionalProperties: false },
);
export type ApiKeyCreateDto = Type.Static<typeof ApiKeyCreateDto>;

/** immish: `POST /api/admin/users/:id/api-keys` body. */
export const AdminApiKeyCreateDto = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);

export const ApiKeyCreateResponseDto = Type.Object({ secret: Type.String(), apiKey: ApiKeyResponseDto });
export type ApiKeyCreateResponseDto = Type.Static<typeof ApiKeyCreateResponseDto>;

export const IdParams = Type.Object({ id: Uuid });

export const ServerPingResponse = Type.Object({ res: Type.String() });
export const ServerVersionResponseDto = Type.Object({
  major: Type.Integer(),
  minor: Type.Integer(),
  patch: Type.Integer(),
  prerelease: Type.Union([Type.Integer(), Type.Null()]),
});
export const ServerMediaTypesResponseDto = Type.Object({
  image: Type.Array(Type.String()),
  video: Type.Array(Type.String()),
  sidecar: Type.Array(Type.String()),
});
const featureNames = [
  'configFile',
  'duplicateDetection',
  'email',
  'facialRecognition',
  'importFaces',
  'map',
  'oauth',
  'oauthAutoLaunch',
  'ocr',
  'passwordLogin',
  'realtimeTranscoding',
  'reverseGeocoding',
  'search',
  'sidecar',
  'smartSearch',
  'trash',
] as const;
export const ServerFeaturesDto = Type.Object(
  Object.fromEntries(featureNames.map((f) => [f, Type.Boolean()])) as Record<
    (typeof featureNames)[number],
    ReturnType<typeof Type.Boolean>
  >,
);
