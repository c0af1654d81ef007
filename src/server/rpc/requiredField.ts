/** A request field a method cannot do without: empty (proto3's "not sent") is INVALID_ARGUMENT naming it. */
import { invalidArgument } from './rpcError';

/** The value, or INVALID_ARGUMENT "<field> is required" (the field's proto name). */
export function requireField(value: string, field: string): string {
  if (!value) throw invalidArgument(`${field} is required`);
  return value;
}
