// The sessions capability: sign-in with a password, login sessions, their listing and revocation.
export { toLoginResponseDto, toSessionDto } from './dto.ts';
export {
  type DeviceInfo,
  deviceFromUserAgent,
  hashSessionToken,
  newSessionToken,
  PasswordCheck,
  type SessionPolicy,
  Sessions,
} from './service.ts';
