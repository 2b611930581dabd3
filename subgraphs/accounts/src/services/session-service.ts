import type { AuthenticatedDevice, TokenService } from '@courier/auth';
import { BadUserInputError, UnauthenticatedError } from '@courier/errors';
import type { RateLimits } from '@courier/limits';
import type { AccountRepository, DeviceRecord } from '../repositories/account-repository.ts';
import { passwordMatches } from './device-password.ts';
import { isUuid } from '@courier/server';

/** An access token and its expiry. */
export interface AccessToken {
  readonly accessToken: string;
  readonly expiresAt: number;
}

/** Login with device credentials, and the caller's own devices. */
export class SessionService {
  readonly #accounts: AccountRepository;
  readonly #tokens: TokenService;
  readonly #limits: RateLimits;

  constructor(accounts: AccountRepository, tokens: TokenService, limits: RateLimits) {
    this.#accounts = accounts;
    this.#tokens = tokens;
    this.#limits = limits;
  }

  /**
   * Exchanges device credentials for an access token. Unknown device and wrong password get the
   * same answer; every attempt, right or wrong, spends from the device's `login` bucket.
   */
  async login(input: { aci: string; deviceId: number; password: string }): Promise<AccessToken> {
    const aci = input.aci.toLowerCase();
    if (!isUuid(aci)) throw new BadUserInputError('aci must be a UUID', 'aci');
    if (!Number.isInteger(input.deviceId) || input.deviceId < 1 || input.deviceId > 127) {
      throw new BadUserInputError('deviceId must be between 1 and 127', 'deviceId');
    }
    await this.#limits.consume('login', `${aci}.${input.deviceId}`);
    const device = await this.#accounts.findDevice(aci, input.deviceId);
    if (
      !device ||
      !passwordMatches(input.password, { hash: device.passwordHash, salt: device.passwordSalt })
    ) {
      throw new UnauthenticatedError('Invalid device credentials');
    }
    const { token, expiresAt } = await this.#tokens.issue({
      aci,
      deviceId: input.deviceId,
      credentialId: device.credentialId,
    });
    return { accessToken: token, expiresAt };
  }

  /** The caller's account's devices, primary first. */
  devicesOf(device: AuthenticatedDevice): Promise<DeviceRecord[]> {
    return this.#accounts.listDevices(device.aci);
  }
}
