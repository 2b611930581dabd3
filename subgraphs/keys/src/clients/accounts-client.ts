/** The accounts internal-API client now lives in `@courier/server` (keys and messages share it). */
export {
  AccountsClient,
  type AccountsClientOptions,
  type AccountTarget as KeyTarget,
} from '@courier/server';
