import { expect } from "vitest";
import { IdentityError, type IdentityErrorCode } from "../src/errors.js";

/** Runs fn, expects an IdentityError with this code whose message contains every part. Returns it. */
export async function expectIdentityError(
  fn: () => unknown,
  code: IdentityErrorCode,
  ...messageParts: (string | RegExp)[]
): Promise<IdentityError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected IdentityError ${code}`).toBeInstanceOf(IdentityError);
  const error = caught as IdentityError;
  expect({ code: error.code, message: error.message }).toMatchObject({ code });
  for (const part of messageParts) {
    if (typeof part === "string") expect(error.message).toContain(part);
    else expect(error.message).toMatch(part);
  }
  return error;
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}
