import type { LoginResponseDto, SessionResponseDto } from '@immish/contracts';
import type { SessionRow, UserRow } from '@immish/db';

export const toLoginResponseDto = (user: UserRow, accessToken: string): LoginResponseDto => ({
  accessToken,
  userId: user.id,
  userEmail: user.email,
  name: user.name,
  isAdmin: user.is_admin,
  // immish has no onboarding wizard and no forced password change (yet): both as Immich reports a settled user
  isOnboarded: true,
  profileImagePath: '',
  shouldChangePassword: false,
});

export const toSessionDto = (s: SessionRow, currentId: string | null): SessionResponseDto => ({
  id: s.id,
  createdAt: s.created_at.toISOString(),
  updatedAt: s.updated_at.toISOString(),
  expiresAt: s.expires_at.toISOString(),
  current: s.id === currentId,
  deviceType: s.device_type,
  deviceOS: s.device_os,
  appVersion: s.app_version,
  isPendingSyncReset: false,
});
