export { toApiKeyDto, toUserAdminDto, toUserDto } from './dto.ts';
export {
  ApiKeyAuthenticator,
  type AuthUser,
  authorizeRoute,
  createApiKey,
  createUser,
  ensureAdmin,
  hashApiKey,
  hashPassword,
  requirePermission,
} from './service.ts';
