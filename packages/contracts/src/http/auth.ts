import Type from 'typebox';
import { IsoDateTime, Uuid } from '../common.ts';

// Immich-compatible sign-in and sessions (reference/immich-openapi-3.1.0.json; docs/spec.md §14).

export const LoginCredentialDto = Type.Object({
  email: Type.String({ minLength: 1, maxLength: 320 }),
  // bounded: argon2 hashes any length, but the work per request must not be the caller's to choose
  password: Type.String({ minLength: 1, maxLength: 1024 }),
});
export type LoginCredentialDto = Type.Static<typeof LoginCredentialDto>;

export const LoginResponseDto = Type.Object({
  accessToken: Type.String(),
  userId: Uuid,
  userEmail: Type.String(),
  name: Type.String(),
  isAdmin: Type.Boolean(),
  isOnboarded: Type.Boolean(),
  profileImagePath: Type.String(),
  shouldChangePassword: Type.Boolean(),
});
export type LoginResponseDto = Type.Static<typeof LoginResponseDto>;

export const LogoutResponseDto = Type.Object({ successful: Type.Boolean(), redirectUri: Type.String() });
export type LogoutResponseDto = Type.Static<typeof LogoutResponseDto>;

export const ValidateAccessTokenResponseDto = Type.Object({ authStatus: Type.Boolean() });
export type ValidateAccessTokenResponseDto = Type.Static<typeof ValidateAccessTokenResponseDto>;

export const ChangePasswordDto = Type.Object({
  password: Type.String({ minLength: 1, maxLength: 1024 }),
  newPassword: Type.String({ minLength: 8, maxLength: 1024 }),
  /**
   * Immich's flag; immish signs the other sessions out unless it is `false` (a changed password usually means
   * the old one leaked, so keeping other devices signed in must be asked for, docs/spec.md §13).
   */
  invalidateSessions: Type.Optional(Type.Boolean()),
});
export type ChangePasswordDto = Type.Static<typeof ChangePasswordDto>;

export const SessionResponseDto = Type.Object({
  id: Uuid,
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
  expiresAt: IsoDateTime,
  current: Type.Boolean(),
  deviceType: Type.String(),
  deviceOS: Type.String(),
  appVersion: Type.Union([Type.String(), Type.Null()]),
  isPendingSyncReset: Type.Boolean(),
});
export type SessionResponseDto = Type.Static<typeof SessionResponseDto>;
