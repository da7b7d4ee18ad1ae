/**
 * Providers build attendees' stacks. `createProvider(name, { dataDir })` is what the organizer's
 * stack service calls; `generateStackKeys()` makes each stack's host and attendee keys.
 */
import { LocalProvider, type LocalProviderOptions } from './local';
import { TerraformProvider, type TerraformProviderOptions } from './terraform';
import type { Provider } from './types';

export type { ProgressFn, Provider, ProvisionedStack, StackKeys, StackSpec, StackTopology } from './types';
export { fingerprintOf, generateKeyPair, generateStackKeys } from './keys';
export { LocalProvider, type LocalHandle, type LocalProviderOptions } from './local';
export { TerraformProvider, TerraformError, mapOutputs, type TerraformProviderOptions } from './terraform';

export type ProviderName = 'local' | 'terraform-gce';

export const PROVIDER_NAMES: readonly ProviderName[] = ['local', 'terraform-gce'];

export function createProvider(
  name: ProviderName,
  opts: { dataDir: string } & Omit<LocalProviderOptions, 'dataDir'> & Omit<TerraformProviderOptions, 'dataDir'>,
): Provider {
  switch (name) {
    case 'local':
      return new LocalProvider(opts);
    case 'terraform-gce':
      return new TerraformProvider(opts);
    default:
      throw Object.assign(new Error(`Unknown provider "${String(name)}"; known providers: ${PROVIDER_NAMES.join(', ')}`), {
        retryable: false,
      });
  }
}
