import { z } from "zod";

/** The body of every JSON error (src/http/errors.ts writes it): a code, a message, and the field at fault. */
export const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string(), field: z.string().optional() }) });

/** `?token=` of the links in our emails (also accepted as `Authorization: Bearer`). */
export const tokenQuery = z.object({ token: z.string().max(512).optional() });
