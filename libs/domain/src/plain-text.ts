import { z } from 'zod';

// eslint-disable-next-line no-control-regex -- the rule is precisely "no control characters"
const NO_CONTROL_CHARACTERS = /^[^\u0000-\u001f\u007f-\u009f]*$/;

/** An unpaired UTF-16 surrogate: text that is not Unicode (and that Postgres refuses). */
export const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A text field of a request body (SPEC §2.1): 1–`max` characters of Unicode text without control
 * characters (C0, DEL, C1; `\u0000` included, which Postgres cannot store) and without an unpaired
 * surrogate (which would be stored as U+FFFD, not as sent). Each is a 400 naming the field.
 */
export const plainTextSchema = (max: number) =>
  z
    .string({ error: 'must be a string' })
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .regex(NO_CONTROL_CHARACTERS, 'must not contain control characters')
    .refine((text) => !UNPAIRED_SURROGATE.test(text), 'must be Unicode text (it has an unpaired surrogate)');
