import type { ApiKeyResponseDto, Permission, UserAdminResponseDto, UserResponseDto } from '@immish/contracts';
import type { ApiKeyRow, UserRow } from '@immish/db';

export const toUserDto = (u: UserRow): UserResponseDto => ({
  id: u.id,
  email: u.email,
  name: u.name,
  avatarColor: 'primary',
  profileImagePath: '',
  profileChangedAt: u.created_at.toISOString(),
});

export const toUserAdminDto = (u: UserRow, usageBytes: number | null = null): UserAdminResponseDto => ({
  ...toUserDto(u),
  createdAt: u.created_at.toISOString(),
  updatedAt: u.updated_at.toISOString(),
  deletedAt: u.deleted_at ? u.deleted_at.toISOString() : null,
  isAdmin: u.is_admin,
  license: null,
  oauthId: '',
  quotaSizeInBytes: u.quota_bytes === null ? null : Number(u.quota_bytes),
  quotaUsageInBytes: usageBytes,
  shouldChangePassword: false,
  status: u.deleted_at ? 'deleted' : 'active',
  storageLabel: null,
});

export const toApiKeyDto = (k: ApiKeyRow): ApiKeyResponseDto => ({
  id: k.id,
  name: k.name,
  // stored only through ApiKeyCreateDto's enum (a name stored before it was enforced grants nothing: isGranted)
  permissions: k.permissions as Permission[],
  createdAt: k.created_at.toISOString(),
  updatedAt: k.updated_at.toISOString(),
});
