import { PaasError } from '@shellwego/core';
import type { z } from 'zod';

/** Parses one part of a request with its schema; the first problem becomes a 400 naming the field. */
export function parseInput<T extends z.ZodType>(
  schema: T,
  value: unknown,
  where: 'body' | 'query' | 'params',
): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw new PaasError('VALIDATION_FAILED', `invalid ${where}`);
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const field = [...path, key].join('.');
    const known = where === 'body' ? 'the request body' : `the ${where}`;
    throw new PaasError('VALIDATION_FAILED', `${field}: unknown field; ${known} does not take it`, { field });
  }
  const field = path.join('.');
  if (field === '' && where === 'body') {
    throw new PaasError('VALIDATION_FAILED', 'request body: expected a JSON object', { field: 'body' });
  }
  const message = /received undefined$/.test(issue.message)
    ? 'is required'
    : issue.message.replace(/^Invalid input: /, '');
  throw new PaasError('VALIDATION_FAILED', `${field || where}: ${message}`, { field: field || where });
}
