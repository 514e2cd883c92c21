import type { TestEnv } from './env.js';
import type { Client } from './system.js';

// The admin's calls of API.md, Operating a sale, over a test client.
export function adminOf(api: Client, env: TestEnv, actor?: string) {
  const headers = {
    authorization: `Bearer ${env.config.auth.adminToken}`,
    'content-type': 'application/json',
    ...(actor ? { 'x-admin-actor': actor } : {}),
  };
  return {
    list: (query = '') => api.raw('GET', `/admin/sales${query}`, headers),
    sale: (saleId: number) => api.raw('GET', `/admin/sales/${saleId}`, headers),
    pause: (saleId: number) => api.raw('POST', `/admin/sales/${saleId}/pause`, headers),
    resume: (saleId: number) => api.raw('POST', `/admin/sales/${saleId}/resume`, headers),
    change: (saleId: number, body: unknown) =>
      api.raw('PATCH', `/admin/sales/${saleId}`, headers, body),
  };
}
