import { expect } from "vitest";
import { AppError } from "../../src/errors.js";

/** The AppError code `fn` throws, or undefined when it does not throw; anything but an AppError fails the test. */
export function refusal(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return (err as AppError).code;
  }
}
