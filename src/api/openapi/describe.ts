import type { OpenAPIHono, RouteConfig, z } from '@hono/zod-openapi';
import { errorSchema } from './schemas.js';

// What a file of paths is handed: the registry the document is generated from.
export type Registry = OpenAPIHono['openAPIRegistry'];
export type Responses = RouteConfig['responses'];

// Names of the security schemes (./document.ts registers them).
type Security = Record<string, string[]>[];
export const buyer: Security = [{ buyerToken: [] }];
export const admin: Security = [{ adminToken: [] }, { adminBasic: [] }];

export const jsonBody = (schema: z.ZodType, description?: string) => ({
  required: true,
  ...(description ? { description } : {}),
  content: { 'application/json': { schema } },
});

export const json = (description: string, schema: z.ZodType) => ({
  description,
  content: { 'application/json': { schema } },
});

// The contract's error answers (API.md, Errors), one line each: status → what it means. The
// codes an answer may carry go in its description.
export function errors(answers: Record<number, string>): Responses {
  return Object.fromEntries(
    Object.entries(answers).map(([status, description]) => [
      status,
      json(description, errorSchema),
    ]),
  );
}
