import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  ChangePasswordDto,
  LoginCredentialDto,
  LoginResponseDto,
  LogoutResponseDto,
  UserAdminResponseDto,
  ValidateAccessTokenResponseDto,
} from '@immish/contracts';
import type { UserRow } from '@immish/db';
import {
  deviceFromUserAgent,
  type PasswordCheck,
  type Sessions,
  toLoginResponseDto,
  toUserAdminDto,
} from '@immish/domain';
import { type ConcurrencyGate, type ReservedAttempt, unauthenticated } from '@immish/runtime';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { caller } from '../auth.ts';
import { assertNotCrossSite, clearSessionCookies, type LoginThrottle, setSessionCookies } from '../sign-in.ts';

const err = { $ref: 'ErrorResponse#' };
const errors = { 400: err, 401: err, 403: err, 429: err };

export interface SignInContext {
  sessions: Sessions;
  passwords: PasswordCheck;
  throttle: LoginThrottle;
  /** bounds the argon2 verifications this process runs at once (memory and the libuv thread pool) */
  verifications: ConcurrencyGate;
}

/**
 * A password check counted against the wrong-password budget (reserved before argon2 runs); the attempt is
 * given back when the password was right or could not be checked (this process busy), as link unlocks do.
 */
async function checkedPassword(
  ctx: SignInContext,
  req: FastifyRequest,
  email: string,
  check: () => Promise<boolean>,
): Promise<boolean> {
  const attempt: ReservedAttempt = await ctx.throttle.reserve(email, req.ip);
  let right: boolean;
  try {
    right = await ctx.verifications.run(check);
  } catch (e) {
    await attempt.giveBack();
    throw e;
  }
  if (right) await attempt.giveBack();
  return right;
}

/**
 * Password sign-in, for the API and the console's form alike: refuses a cross-site attempt, counts it against
 * the wrong-password budget, checks the password (the same work for unknown emails), opens a session and sets
 * its cookies. Returns Immich's LoginResponseDto.
 */
export async function signInWithPassword(
  ctx: SignInContext,
  req: FastifyRequest,
  reply: FastifyReply,
  email: string,
  password: string,
): Promise<LoginResponseDto> {
  assertNotCrossSite(req);
  let user: UserRow | null = null;
  const right = await checkedPassword(ctx, req, email, async () => {
    user = await ctx.passwords.signIn(email, password);
    return user !== null;
  });
  const signedIn = user as UserRow | null;
  // Immich's words; the same for an unknown email and a wrong password
  if (!right || !signedIn) throw unauthenticated('Incorrect email or password');
  const { token, session } = await ctx.sessions.create(signedIn, deviceFromUserAgent(req.headers['user-agent']));
  setSessionCookies(req, reply, token, session.absolute_expires_at);
  return toLoginResponseDto(signedIn, token);
}

/** Immich's `/api/auth/*` (docs/spec.md §14): password sign-in, sign-out, token check, password change. */
export const authRoutes =
  (ctx: SignInContext): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

    app.post(
      '/api/auth/login',
      {
        config: { public: true },
        schema: { tags: ['authentication'], body: LoginCredentialDto, response: { 201: LoginResponseDto, ...errors } },
      },
      async (req, reply) =>
        reply.status(201).send(await signInWithPassword(ctx, req, reply, req.body.email, req.body.password)),
    );

    app.post(
      '/api/auth/logout',
      // any signed-in caller (Immich: no permission); with an API key there is no session to end
      {
        config: { permission: false },
        schema: { tags: ['authentication'], response: { 200: LogoutResponseDto, ...errors } },
      },
      async (req, reply) => {
        const { user, session } = caller(req);
        if (session) await ctx.sessions.revoke(user.id, session.id);
        clearSessionCookies(req, reply);
        return { successful: true, redirectUri: '/auth/login?autoLaunch=0' };
      },
    );

    app.post(
      '/api/auth/validateToken',
      {
        config: { permission: false },
        schema: { tags: ['authentication'], response: { 200: ValidateAccessTokenResponseDto, ...errors } },
      },
      // reaching the handler means the auth hook accepted the credential
      async () => ({ authStatus: true }),
    );

    app.post(
      '/api/auth/change-password',
      {
        config: { permission: 'auth.changePassword' },
        schema: {
          tags: ['authentication'],
          body: ChangePasswordDto,
          response: { 200: UserAdminResponseDto, ...errors },
        },
      },
      async (req) => {
        const { user, session } = caller(req);
        const { password, newPassword, invalidateSessions } = req.body;
        const right = await checkedPassword(ctx, req, user.email, () => ctx.passwords.verify(user, password));
        if (!right) throw unauthenticated('Wrong password');
        const updated = await ctx.passwords.setPassword(user.id, newPassword);
        // docs/spec.md §13: other sessions end unless the caller asks to keep them
        if (invalidateSessions !== false) await ctx.sessions.revokeOthers(user.id, session?.id ?? null);
        return toUserAdminDto(updated);
      },
    );
  };
